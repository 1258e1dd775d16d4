package smtptest

import (
	"bufio"
	"errors"
	"net"
	netsmtp "net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/smtp"
)

func TestRecordsTransactions(t *testing.T) {
	srv := NewServer(t, nil)
	err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.com", "c@example.com"}, []byte("Subject: x\r\n\r\nhi\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitMessages(1, 5*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "a@example.org" || strings.Join(m.To, ",") != "b@example.com,c@example.com" {
		t.Errorf("envelope %q → %q", m.From, m.To)
	}
	if string(m.Data) != "Subject: x\r\n\r\nhi\r\n" {
		t.Errorf("data %q", m.Data)
	}
	if m.Hello == "" || m.TLS || m.Err != nil {
		t.Errorf("hello %q tls %v err %v", m.Hello, m.TLS, m.Err)
	}
}

func TestFaultAtRcpt(t *testing.T) {
	srv := NewServer(t, nil)
	srv.Fail(Fault{At: AtRcpt, Address: "full@example.com", Reply: &smtp.Error{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2}, Message: "Mailbox full"}, Count: 1})
	err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"full@example.com"}, []byte("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "4.2.2 Mailbox full") {
		t.Fatalf("got %v, want the 452", err)
	}
	// Count 1: the second attempt passes.
	if err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"full@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
}

func TestFaultAtMailAndData(t *testing.T) {
	srv := NewServer(t, nil)
	srv.Fail(Fault{At: AtMail, Reply: &smtp.Error{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "busy"}, Count: 1})
	srv.Fail(Fault{At: AtData, Reply: &smtp.Error{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "spam"}, Count: 1})
	err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.com"}, []byte("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "421") {
		t.Fatalf("got %v, want 421", err)
	}
	err = netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.com"}, []byte("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "5.7.1 spam") {
		t.Fatalf("got %v, want 554", err)
	}
	msgs := srv.Messages()
	var se *smtp.Error
	if len(msgs) != 1 || !errors.As(msgs[0].Err, &se) || se.Code != 554 {
		t.Fatalf("recorded %+v", msgs)
	}
	srv.ClearFaults()
	if err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
}

func TestFaultAtConnect(t *testing.T) {
	srv := NewServer(t, nil)
	srv.Fail(Fault{At: AtConnect, Reply: &smtp.Error{Code: 554, EnhancedCode: smtp.NoEnhancedCode, Message: "go away"}})
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	if line != "554 go away\r\n" {
		t.Fatalf("greeting %q", line)
	}
}

func TestDropMidData(t *testing.T) {
	srv := NewServer(t, nil)
	srv.Fail(Fault{At: AtData, Drop: true, DropAfter: 5, Count: 1})
	err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.com"}, []byte(strings.Repeat("0123456789\r\n", 1000)))
	if err == nil {
		t.Fatal("send succeeded through a dropped connection")
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("%d messages recorded", n)
	}
}

func TestDelay(t *testing.T) {
	srv := NewServer(t, nil)
	srv.Fail(Fault{At: AtMail, Delay: 200 * time.Millisecond})
	start := time.Now()
	if err := netsmtp.SendMail(srv.Addr(), nil, "a@example.org", []string{"b@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("took %v, want the delay", d)
	}
}

func TestSTARTTLS(t *testing.T) {
	srv := NewServer(t, &Options{TLS: true})
	c, err := netsmtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(srv.ClientTLSConfig()); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.org"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("secret\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	msgs := srv.WaitMessages(1, 5*time.Second)
	if len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("got %+v", msgs)
	}
}

func TestAuth(t *testing.T) {
	srv := NewServer(t, &Options{Users: map[string]string{"jim": "secret"}})
	host, _, _ := strings.Cut(srv.Addr(), ":")
	err := netsmtp.SendMail(srv.Addr(), netsmtp.PlainAuth("", "jim", "wrong", host), "a@example.org", []string{"b@example.com"}, []byte("x\r\n"))
	if err == nil || !strings.Contains(err.Error(), "5.7.8") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := netsmtp.SendMail(srv.Addr(), netsmtp.PlainAuth("", "jim", "secret", host), "a@example.org", []string{"b@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	msgs := srv.WaitMessages(1, 5*time.Second)
	if len(msgs) != 1 || msgs[0].Identity != "jim" {
		t.Fatalf("got %+v", msgs)
	}
}

func TestLMTPAndConfigure(t *testing.T) {
	srv := NewServer(t, &Options{Mode: smtp.ModeLMTP, Configure: func(s *smtp.Server) { s.MaxRecipients = 1 }})
	c, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if len(line) > 3 && line[3] == '-' {
				continue
			}
			if !strings.HasPrefix(line, prefix) {
				t.Fatalf("got %q, want %q", line, prefix)
			}
			return
		}
	}
	expect("220 ")
	for _, step := range []struct{ cmd, want string }{
		{"LHLO client.test", "250 "},
		{"MAIL FROM:<a@example.org>", "250 "},
		{"RCPT TO:<b@example.com>", "250 "},
		{"RCPT TO:<c@example.com>", "452 4.5.3 "},
		{"DATA", "354 "},
		{"hi\r\n.", "250 2.0.0 <b@example.com>"},
	} {
		c.Write([]byte(step.cmd + "\r\n"))
		expect(step.want)
	}
}

package smtp

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/textwire"
)

// oneConnListener hands out a single connection, then blocks until closed.
type oneConnListener struct {
	c    net.Conn
	once sync.Once
	done chan struct{}
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.once.Do(func() { c = l.c })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// pipeSession runs srv over net.Pipe, writes input, and returns everything
// the server wrote until it closed the connection or input ran out.
func pipeSession(t *testing.T, srv *Server, input []byte) []byte {
	t.Helper()
	client, server := net.Pipe()
	srv.Logger = slog.New(slog.DiscardHandler)
	srv.Hostname = "mx.test"
	srv.ReadTimeout = 2 * time.Second
	srv.AuthFailureDelay = -1
	var written atomic.Bool
	idle := make(chan struct{}, 1)
	srv.ConnState = func(c net.Conn, st ConnState) {
		if st == StateIdle && written.Load() {
			select {
			case idle <- struct{}{}:
			default:
			}
		}
	}
	l := &oneConnListener{c: server, done: make(chan struct{})}
	served := make(chan struct{})
	go func() { srv.Serve(l); close(served) }()
	var out bytes.Buffer
	read := make(chan struct{})
	go func() { io.Copy(&out, client); close(read) }()
	client.SetWriteDeadline(time.Now().Add(5 * time.Second))
	client.Write(input)
	written.Store(true)
	// Once the server has answered everything (it waits for a command, or
	// it closed), end the input; a server stuck mid-DATA gets 200 ms.
	select {
	case <-idle:
	case <-read:
	case <-time.After(200 * time.Millisecond):
	}
	client.Close()
	<-read
	srv.Close()
	<-served
	return out.Bytes()
}

// checkReplies asserts that every line the server wrote is a well-formed
// reply line: three digits, space or hyphen, CRLF.
func checkReplies(t *testing.T, out []byte) {
	t.Helper()
	for _, line := range strings.SplitAfter(string(out), "\r\n") {
		if line == "" {
			continue
		}
		if !strings.HasSuffix(line, "\r\n") || len(line) < 6 || line[0] < '2' || line[0] > '5' ||
			(line[3] != ' ' && line[3] != '-') || strings.ContainsAny(line[:len(line)-2], "\r\n") {
			t.Fatalf("malformed reply line %q in %q", line, out)
		}
	}
}

func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
		"HELO x\r\nMAIL FROM:<> BODY=8BITMIME\r\nRCPT TO:<postmaster>\r\nBDAT 3 LAST\r\nabcQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\n.\nMAIL FROM:<e@f>\r\n.\r\n",
		"EHLO x\r\nAUTH PLAIN AGEAYg==\r\nSTARTTLS\r\nRSET\r\nVRFY x\r\nNOOP\r\nHELP\r\n",
		"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 2\r\nabBDAT x\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		be := &testBackend{}
		// End any open line, body or AUTH exchange so the run ends quickly.
		input = append(input[:len(input):len(input)], "\r\n*\r\n.\r\nQUIT\r\n"...)
		out := pipeSession(t, &Server{Backend: be, MaxMessageBytes: 1000, MaxRecipients: 5, AllowInsecureAuth: true}, input)
		if !bytes.HasPrefix(out, []byte("220 mx.test ")) {
			t.Fatalf("no greeting: %q", out)
		}
		checkReplies(t, out)
		for _, m := range be.messages() {
			if m.Err == nil && len(m.Data) > 1000 {
				t.Fatalf("accepted %d bytes over the limit", len(m.Data))
			}
		}
	})
}

// FuzzDataRoundTrip: any message without bare line endings, sent with
// dot-stuffing through DATA, reaches the session byte for byte.
func FuzzDataRoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello\r\n", ".\r\n..\r\n", "no final newline", ".leading\r\n\r\n.\r\nx"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		msg = textwire.NormalizeCRLF(msg)
		be := &testBackend{}
		var in bytes.Buffer
		in.WriteString("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n")
		in.Write(textwire.EncodeDot(msg))
		in.WriteString("QUIT\r\n")
		out := pipeSession(t, &Server{Backend: be, MaxDataLineLength: -1}, in.Bytes())
		msgs := be.messages()
		if len(msgs) != 1 {
			t.Fatalf("got %d messages; server said %q", len(msgs), out)
		}
		want := msg
		if len(want) > 0 && !bytes.HasSuffix(want, []byte("\r\n")) {
			want = append(want, '\r', '\n') // the encoder ends the last line
		}
		if msgs[0].Data != string(want) {
			t.Fatalf("message changed: sent %q, got %q", want, msgs[0].Data)
		}
		if !bytes.Contains(out, []byte("250 2.0.0 Message accepted")) {
			t.Fatalf("not accepted: %q", out)
		}
	})
}

// FuzzBDATRoundTrip: any bytes, cut into chunks at the given points, reach
// the session unchanged.
func FuzzBDATRoundTrip(f *testing.F) {
	f.Add([]byte("hello\r\n.\r\nworld"), uint8(3), uint8(7))
	f.Add([]byte{}, uint8(0), uint8(0))
	f.Add([]byte("\n\r\x00BDAT 1\r\n"), uint8(1), uint8(200))
	f.Fuzz(func(t *testing.T, msg []byte, cut1, cut2 uint8) {
		a := min(int(cut1), len(msg))
		b := min(max(int(cut2), a), len(msg))
		be := &testBackend{}
		var in bytes.Buffer
		in.WriteString("EHLO x\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\n")
		for i, chunk := range [][]byte{msg[:a], msg[a:b], msg[b:]} {
			in.WriteString("BDAT " + itoaTest(len(chunk)))
			if i == 2 {
				in.WriteString(" LAST")
			}
			in.WriteString("\r\n")
			in.Write(chunk)
		}
		in.WriteString("QUIT\r\n")
		out := pipeSession(t, &Server{Backend: be}, in.Bytes())
		msgs := be.messages()
		if len(msgs) != 1 || msgs[0].Data != string(msg) {
			t.Fatalf("sent %q, got %+v; server said %q", msg, msgs, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		n := 0
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "250 2.0.0 Message accepted") {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("server said %q", out)
		}
	})
}

func itoaTest(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

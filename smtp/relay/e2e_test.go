package relay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mx/mxtest"
	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// receiver is an SMTP server for one MX host that records what it accepts
// and answers RCPT by a rule.
type receiver struct {
	mu   sync.Mutex
	got  map[string][]string // recipient → messages
	rcpt func(to string) error
	data func() error
}

func (r *receiver) messages(rcpt string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got[rcpt]...)
}

type recvSession struct {
	r   *receiver
	rcp []string
}

func (s *recvSession) Mail(context.Context, string, *smtp.MailOptions) error { s.rcp = nil; return nil }
func (s *recvSession) Rcpt(_ context.Context, to string, _ *smtp.RcptOptions) error {
	if s.r.rcpt != nil {
		if err := s.r.rcpt(to); err != nil {
			return err
		}
	}
	s.rcp = append(s.rcp, to)
	return nil
}
func (s *recvSession) Data(_ context.Context, body io.Reader) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if s.r.data != nil {
		if err := s.r.data(); err != nil {
			return err
		}
	}
	s.r.mu.Lock()
	for _, to := range s.rcp {
		s.r.got[to] = append(s.r.got[to], string(b))
	}
	s.r.mu.Unlock()
	return nil
}
func (s *recvSession) Reset(context.Context) {}
func (s *recvSession) Close() error          { return nil }

// freeLoopbackPort finds a port free on every given loopback address.
func freeLoopbackPort(t *testing.T, ips ...string) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		l, err := net.Listen("tcp", ips[0]+":0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		ok := true
		for _, ip := range ips {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no port free on all loopback addresses")
	return 0
}

func startReceiver(t *testing.T, addr string) *receiver {
	t.Helper()
	r := &receiver{got: map[string][]string{}}
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	srv := &smtp.Server{Hostname: "mx.test", Logger: slog.New(slog.DiscardHandler),
		Backend: smtp.BackendFunc(func(context.Context, *smtp.ConnInfo) (smtp.Session, error) { return &recvSession{r: r}, nil })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return r
}

// world is the story's network: DNS, and receivers on 127.0.0.2 and
// 127.0.0.3 (127.0.0.4 has nothing listening: a host that is down).
type world struct {
	dns       *mxtest.Server
	mx2, mx3  *receiver
	q         *Queue
	bounces   *fakeNet // mail to bob.example, the sender's domain
	transport *SMTPTransport
}

const zone = `
jim.example.      300 IN MX 10 mx.jim.example.
mx.jim.example.   300 IN A  127.0.0.2
sara.example.     300 IN MX 10 down.sara.example.
sara.example.     300 IN MX 20 mx.sara.example.
down.sara.example. 300 IN A 127.0.0.4
mx.sara.example.  300 IN A  127.0.0.3
implicit.example. 300 IN A  127.0.0.3
null.example.     300 IN MX 0 .
`

func newWorld(t *testing.T) *world {
	t.Helper()
	port := freeLoopbackPort(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	w := &world{dns: mxtest.NewServer(t, zone)}
	w.mx2 = startReceiver(t, "127.0.0.2:"+strconv.Itoa(port))
	w.mx3 = startReceiver(t, "127.0.0.3:"+strconv.Itoa(port))
	w.bounces = newFakeNet(nil)
	w.transport = &SMTPTransport{Resolver: w.dns.Resolver(), Port: port,
		Dialer: smtp.Dialer{LocalName: "relay.bob.example", Logger: slog.New(slog.DiscardHandler),
			CommandTimeout: 5 * time.Second, GreetingTimeout: 5 * time.Second}}
	w.q = &Queue{Spool: &DirSpool{Dir: t.TempDir()}, Transport: w.transport, Hostname: "relay.bob.example",
		Local: w.bounces, IsLocal: func(d string) bool { return d == "bob.example" },
		Schedule: []time.Duration{50 * time.Millisecond}, DelayNotice: -1, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, w.q.Start(context.Background()))
	t.Cleanup(func() { w.q.Shutdown(context.Background()) })
	return w
}

func TestRelayDeliversThroughMX(t *testing.T) {
	w := newWorld(t)
	send(t, w.q, "bob@bob.example", msg, "jim@jim.example", "sara@sara.example", "x@implicit.example")
	waitEmpty(t, w.q)
	assert.Equal(t, []string{msg}, w.mx2.messages("jim@jim.example"))
	assert.Equal(t, []string{msg}, w.mx3.messages("sara@sara.example"), "first MX down: the second is used")
	assert.Equal(t, []string{msg}, w.mx3.messages("x@implicit.example"), "no MX: the domain's own address")
	assert.Empty(t, w.bounces.got("bob@bob.example"))
}

func TestRelayRetriesAfter4xx(t *testing.T) {
	w := newWorld(t)
	var mu sync.Mutex
	tries := 0
	w.mx2.rcpt = func(string) error {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries == 1 {
			return &smtp.Error{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted"}
		}
		return nil
	}
	send(t, w.q, "bob@bob.example", msg, "jim@jim.example")
	waitEmpty(t, w.q)
	assert.Equal(t, []string{msg}, w.mx2.messages("jim@jim.example"))
	mu.Lock()
	assert.Equal(t, 2, tries)
	mu.Unlock()
}

func TestRelayBouncesMixedAndNullMX(t *testing.T) {
	w := newWorld(t)
	w.mx2.rcpt = func(to string) error {
		if to == "nobody@jim.example" {
			return &smtp.Error{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	send(t, w.q, "bob@bob.example", msg, "jim@jim.example", "nobody@jim.example", "a@null.example")
	waitEmpty(t, w.q)
	assert.Equal(t, []string{msg}, w.mx2.messages("jim@jim.example"), "the good recipient is delivered")
	assert.Empty(t, w.mx2.messages("nobody@jim.example"))
	bounces := w.bounces.got("bob@bob.example")
	require.Len(t, bounces, 1, "one DSN for both failures")
	b := bounces[0]
	for _, want := range []string{
		"Final-Recipient: rfc822; nobody@jim.example", "Status: 5.1.1", "Diagnostic-Code: smtp; 550 5.1.1 no such user",
		"Remote-MTA: dns; mx.jim.example",
		"Final-Recipient: rfc822; a@null.example", "Status: 5.1.10",
	} {
		assert.Contains(t, b, want)
	}
	assert.NotContains(t, b, "Final-Recipient: rfc822; jim@jim.example")
}

func TestRelayDataRejectedTemporarilyTriesNextHost(t *testing.T) {
	// Both MX hosts of a domain; the better one fails the data with 451.
	w := newWorld(t)
	w.dns.SetZone(zone + "\nmulti.example. 300 IN MX 10 mx.jim.example.\nmulti.example. 300 IN MX 20 mx.sara.example.\n")
	w.mx2.data = func() error {
		return &smtp.Error{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "disk full"}
	}
	send(t, w.q, "bob@bob.example", msg, "u@multi.example")
	waitEmpty(t, w.q)
	assert.Empty(t, w.mx2.messages("u@multi.example"))
	assert.Equal(t, []string{msg}, w.mx3.messages("u@multi.example"))
}

func TestRelayRequireTLSNeverInClear(t *testing.T) {
	w := newWorld(t)
	w.q.MaxAge = 200 * time.Millisecond
	env := &Envelope{From: "bob@bob.example", Mail: smtp.MailOptions{RequireTLS: true},
		Recipients: []Recipient{{Address: "jim@jim.example"}}}
	_, err := w.q.Enqueue(context.Background(), env, strings.NewReader(msg))
	require.NoError(t, err)
	waitEmpty(t, w.q)
	assert.Empty(t, w.mx2.messages("jim@jim.example"), "a receiver without STARTTLS never gets a REQUIRETLS message")
	bounces := w.bounces.got("bob@bob.example")
	require.Len(t, bounces, 1)
	assert.Contains(t, bounces[0], "Action: failed")
}

// BenchmarkRelayToDiscardReceiver measures throughput through the queue
// (spool on disk, fsync on) to an SMTP receiver; with -latency style use,
// see BenchmarkRelayLatency.
func BenchmarkRelayToDiscardReceiver(b *testing.B) { benchRelay(b, false) }

// BenchmarkRelayLatency measures accept-to-delivery latency at low load: one
// message in flight at a time; ns/op is the latency.
func BenchmarkRelayLatency(b *testing.B) { benchRelay(b, true) }

func benchRelay(b *testing.B, oneAtATime bool) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	require.NoError(b, err)
	port := l.Addr().(*net.TCPAddr).Port
	srv := &smtp.Server{Hostname: "mx.test", Logger: slog.New(slog.DiscardHandler),
		Backend: smtp.BackendFunc(func(context.Context, *smtp.ConnInfo) (smtp.Session, error) {
			return &recvSession{r: &receiver{got: map[string][]string{}}}, nil
		})}
	go srv.Serve(l)
	defer srv.Close()
	dns := mxtest.NewServer(b, "jim.example. 300 IN MX 10 mx.jim.example.\nmx.jim.example. 300 IN A 127.0.0.2\n")
	var delivered sync.WaitGroup
	one := make(chan struct{}, 1)
	q := &Queue{Spool: &DirSpool{Dir: b.TempDir()}, Hostname: "relay", DelayNotice: -1, Logger: slog.New(slog.DiscardHandler),
		Transport: &SMTPTransport{Resolver: dns.Resolver(), Port: port, Dialer: smtp.Dialer{LocalName: "relay"}},
		OnEvent: func(ev Event) {
			if ev.Kind == EventDelivered {
				if oneAtATime {
					one <- struct{}{}
				} else {
					delivered.Done()
				}
			}
		}}
	require.NoError(b, q.Start(context.Background()))
	defer q.Shutdown(context.Background())
	body := strings.Repeat("x", 4000) + "\r\n"
	b.SetBytes(int64(len(body)))
	if !oneAtATime {
		delivered.Add(b.N)
	}
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := q.Enqueue(context.Background(), &Envelope{From: "bob@bob.example", Recipients: []Recipient{{Address: fmt.Sprintf("u%d@jim.example", i)}}}, strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
		if oneAtATime {
			<-one
		}
	}
	if !oneAtATime {
		delivered.Wait()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// failingReader returns some bytes, then an error: a spool that breaks
// while the message is being sent.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func TestRelayNeverSendsTruncatedMessage(t *testing.T) {
	w := newWorld(t)
	for _, disableChunking := range []bool{false, true} {
		w.transport.Dialer.DisableChunking = disableChunking
		d := &Delivery{Domain: "jim.example", From: "bob@bob.example", Recipients: []string{"jim@jim.example"},
			Open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(&failingReader{n: 100000}), nil }}
		res := w.transport.Deliver(context.Background(), d)
		require.Len(t, res, 1)
		assert.Error(t, res[0].Err, "chunking disabled: %v", disableChunking)
		perm, _ := Permanent(res[0].Err)
		assert.False(t, perm, "a local read error is temporary")
	}
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, w.mx2.messages("jim@jim.example"), "the receiver must not accept a truncated message")
}

package smtp

import (
	"bufio"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// serveBubble serves srv over net.Pipe inside a synctest bubble and
// returns the client end; everything stops when the bubble's test ends.
func serveBubble(t *testing.T, srv *Server) (net.Conn, *bufio.Reader) {
	client, server := net.Pipe()
	srv.Hostname = "mx.test"
	srv.Logger = slog.New(slog.DiscardHandler)
	if srv.Backend == nil {
		srv.Backend = &testBackend{}
	}
	l := &oneConnListener{c: server, done: make(chan struct{})}
	served := make(chan struct{})
	go func() { srv.Serve(l); close(served) }()
	t.Cleanup(func() {
		client.Close()
		srv.Close()
		<-served
	})
	return client, bufio.NewReader(client)
}

// TestDefaultReadTimeout: with no setting, an idle client is dropped after
// exactly DefaultReadTimeout (RFC 5321 §4.5.3.2.7: 5 minutes), in fake time.
func TestDefaultReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, br := serveBubble(t, &Server{})
		greeting, err := br.ReadString('\n')
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(greeting, "220 "))
		start := time.Now()
		c.Write([]byte("EHLO x\r\n"))
		for {
			line, err := br.ReadString('\n')
			require.NoError(t, err)
			if strings.HasPrefix(line, "250 ") {
				break
			}
		}
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(line, "421 4.4.2 "), line)
		assert.Equal(t, DefaultReadTimeout, time.Since(start))
	})
}

// TestDefaultTransactionTimeout: a client that keeps the connection busy by
// trickling its message (one line a minute, under the read timeout) is
// stopped by the whole-transaction deadline, 30 minutes after MAIL.
func TestDefaultTransactionTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, br := serveBubble(t, &Server{})
		replies := make(chan string, 100)
		go func() {
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					close(replies)
					return
				}
				replies <- line
			}
		}()
		<-replies // greeting
		c.Write([]byte("HELO x\r\n"))
		<-replies
		start := time.Now()
		c.Write([]byte("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"))
		for range 3 {
			<-replies
		}
		var last string
		for i := 0; i < 40; i++ {
			time.Sleep(time.Minute)
			select {
			case last = <-replies:
			default:
			}
			if last != "" {
				break
			}
			c.SetWriteDeadline(time.Now().Add(time.Second))
			c.Write([]byte("line\r\n"))
		}
		assert.True(t, strings.HasPrefix(last, "421 4.4.2 "), last)
		elapsed := time.Since(start)
		assert.GreaterOrEqual(t, elapsed, DefaultTransactionTimeout)
		assert.Less(t, elapsed, DefaultTransactionTimeout+2*time.Minute)
	})
}

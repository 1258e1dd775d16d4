package smtp

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExtensionXCLIENT(t *testing.T) {
	be := &testBackend{}
	var trusted atomic.Bool
	trusted.Store(true)
	xclient := Extension{
		Keyword:    "XCLIENT ADDR",
		Command:    "XCLIENT",
		MailParams: []string{"XPRIO"},
		RcptParams: []string{"XTAG"},
		Available:  func(c *ConnInfo) bool { return trusted.Load() },
		Handle: func(ctx context.Context, c *ConnInfo, s Session, arg string) error {
			addr, ok := strings.CutPrefix(arg, "ADDR=")
			if !ok {
				return &Error{Code: 501, EnhancedCode: EnhancedCode{5, 5, 4}, Message: "Bad XCLIENT"}
			}
			c.RemoteAddr = &net.TCPAddr{IP: net.ParseIP(addr), Port: 0}
			return &Error{Code: 220, EnhancedCode: NoEnhancedCode, Message: "mx.test ESMTP"}
		},
	}
	noop := Extension{Command: "XNOOP", Handle: func(ctx context.Context, c *ConnInfo, s Session, arg string) error { return nil }}
	addr := startServer(t, &Server{Backend: be, Extensions: []Extension{xclient, noop}})
	cl := greeted(t, addr)
	r := cl.cmd("EHLO client.test", "250 ")
	assert.Contains(t, r, "XCLIENT ADDR")
	cl.cmd("XNOOP", "250 2.0.0 OK")
	cl.cmd("XCLIENT FOO", "501 5.5.4 Bad XCLIENT")
	cl.cmd("XCLIENT ADDR=192.0.2.7", "220 mx.test ESMTP")
	cl.cmd("MAIL FROM:<a@example.org>", "503 5.5.1 ") // conversation restarted
	cl.cmd("EHLO client.test", "250 ")
	cl.cmd("MAIL FROM:<a@example.org> XPRIO=5", "250 ")
	cl.cmd("RCPT TO:<b@example.com> XTAG=x XPRIO=1", "555 5.5.4 ")
	cl.cmd("RCPT TO:<b@example.com> XTAG=x", "250 ")
	cl.cmd("DATA", "354 ")
	cl.send("x\r\n.\r\n")
	cl.expect("250 ")
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, map[string]string{"XPRIO": "5"}, msgs[0].MailOpts.Extra)
	assert.Equal(t, map[string]string{"XTAG": "x"}, msgs[0].RcptOpts[0].Extra)
	waitFor(t, func() bool { be.mu.Lock(); defer be.mu.Unlock(); return be.sessions == 2 })

	trusted.Store(false)
	cl2 := greeted(t, addr)
	r = cl2.cmd("EHLO client.test", "250 ")
	assert.NotContains(t, r, "XCLIENT")
	cl2.cmd("XCLIENT ADDR=192.0.2.7", "500 5.5.2 ")
	cl2.cmd("MAIL FROM:<a@example.org> XPRIO=5", "555 5.5.4 ")
}

package imap

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/memstore"
)

// panicHandler records error-level log records (recovered panics,
// internal errors), which must never happen on any input.
type panicHandler struct{ msgs chan string }

func (h panicHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h panicHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.msgs <- r.Message:
	default:
	}
	return nil
}
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicHandler) WithGroup(string) slog.Handler      { return h }

// FuzzServer drives a whole server session with arbitrary bytes after a
// login and a SELECT. Properties: no panic or internal error, every
// response line is a well-formed status, data or continuation line with
// exact literals, and the session ends once the input does.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"a FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (Subject)] BODY[]<0.10>)\r\n",
		"a UID SEARCH RETURN (MIN MAX COUNT SAVE) OR SUBJECT x NOT BODY y\r\nb FETCH $ UID\r\n",
		"a STORE 1 +FLAGS (\\Deleted)\r\nb EXPUNGE\r\nc NOOP\r\n",
		"a APPEND INBOX (\\Seen) {5+}\r\nhello\r\nb SELECT INBOX\r\n",
		"a IDLE\r\nDONE\r\nb LIST \"\" *\r\n",
		"a COPY 1:2 Archive\r\nb MOVE 1 INBOX\r\nc CLOSE\r\n",
		"a CREATE {3}\r\nx/y\r\nb RENAME x/y z\r\nc LSUB \"\" *\r\n",
		"a SEARCH CHARSET UTF-8 TEXT {4}\r\nt\xc3\xa9\r\n",
		"a ENABLE IMAP4rev2 UTF8=ACCEPT\r\nb LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES SIZE))\r\n",
		"a STATUS INBOX (MESSAGES UIDNEXT DELETED SIZE)\r\nb UID EXPUNGE 1:*\r\n",
		"a ID (\"name\" \"x\")\r\nb NAMESPACE\r\nc UNSELECT\r\n",
		"a FETCH 99 FLAGS\r\nb FETCH * (RFC822.HEADER RFC822.TEXT)\r\n",
		"a LOGOUT\r\n",
		// Commands after LOGOUT, more than the server buffers: the BYE and
		// OK still arrive (serve.Linger), then EOF or a reset.
		"a LOGOUT\r\n" + strings.Repeat("b NOOP\r\n", 1<<14),
		// A corrupt DEFLATE stream, and more of it than the server reads.
		"a COMPRESS DEFLATE\r\n\xff" + strings.Repeat("b NOOP\r\n", 1<<14),
		// RFC 7162 CONDSTORE and QRESYNC.
		"a FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 1)\r\nb STORE 1:* (UNCHANGEDSINCE 2) +FLAGS.SILENT (\\Seen)\r\n",
		"a SEARCH RETURN (MIN) MODSEQ \"/flags/\\\\seen\" all 1\r\nb STATUS INBOX (HIGHESTMODSEQ)\r\n",
		"a ENABLE QRESYNC\r\nb SELECT INBOX (QRESYNC (1 1 1:5 (1:2 1:2)))\r\nc UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
		"a ENABLE QRESYNC\r\nb STORE 1 +FLAGS (\\Deleted)\r\nc EXPUNGE\r\nd EXAMINE INBOX (CONDSTORE)\r\n",
		"a COMPRESS DEFLATE\r\n\x02\x00\x00\x00\xff\xff",
		"a FETCH 1:* (UID PREVIEW (LAZY) FLAGS)\r\nb FETCH 1 PREVIEW (LAZY)\r\nc FETCH 1 PREVIEW\r\n",
		"a SORT RETURN (MIN MAX ALL COUNT) (SIZE) UTF-8 ALL\r\n",
		"a SORT (REVERSE SUBJECT DISPLAYFROM) UTF-8 ALL\r\nb UID SORT (DATE) US-ASCII OR SEEN 1:2\r\nc THREAD ORDEREDSUBJECT UTF-8 ALL\r\n",
		"a THREAD REFERENCES UTF-8 ALL\r\nb UID THREAD REFERENCES US-ASCII SUBJECT x\r\n",
		"((((((((((\r\n{99999999999}\r\n",
		// RFC 5465 NOTIFY: notifications between and after commands.
		"a NOTIFY SET STATUS (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER]) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\nb CREATE n/m\r\nc APPEND INBOX {2+}\r\nhi\r\nd SUBSCRIBE n\r\ne RENAME n o\r\nf NOTIFY NONE\r\n",
	} {
		f.Add([]byte(s))
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { l.Close() })
	f.Fuzz(func(t *testing.T, input []byte) {
		st := memstore.New()
		if err := st.AddUser("sara", "secret"); err != nil {
			t.Fatal(err)
		}
		seed(t, st)
		errs := make(chan string, 1)
		srv := &Server{
			Store: st, AllowInsecureAuth: true, LoginFailDelay: -1,
			Logger: slog.New(panicHandler{errs}), MaxLiteral: 1024, AppendLimit: 4096,
		}
		accepted := make(chan net.Conn, 1)
		go func() {
			nc, _ := l.Accept()
			accepted <- nc
		}()
		cli, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc := <-accepted
		if nc == nil {
			t.Fatal("accept failed")
		}
		c := srv.newConn(context.Background(), nc)
		done := make(chan struct{})
		go func() { c.serve(); close(done) }()
		go func() {
			io.WriteString(cli, "L LOGIN sara secret\r\nS SELECT INBOX\r\n")
			cli.Write(input)
			io.WriteString(cli, "\r\nZ LOGOUT\r\n")
			cli.(*net.TCPConn).CloseWrite() // the session must end at EOF
		}()
		cli.SetReadDeadline(time.Now().Add(10 * time.Second))
		checkResponses(t, bufio.NewReader(cli))
		cli.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("session did not end")
		}
		select {
		case m := <-errs:
			t.Fatalf("server logged an error: %s", m)
		default:
		}
	})
}

func seed(t *testing.T, st *memstore.Store) {
	ctx := context.Background()
	acct, err := st.Open(ctx, "sara")
	if err != nil {
		t.Fatal(err)
	}
	defer acct.Close()
	acct.Create(ctx, "Archive", nil)
	mb, err := acct.Mailbox(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	defer mb.Close()
	for _, s := range []string{"one", "two"} {
		if _, err := mb.Append(ctx, strings.NewReader(msg(s, "text "+s+"\r\n")), &mailbox.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// checkResponses reads until EOF and checks that every line is a
// continuation, untagged or tagged response.
//
// The session may end with a reset once the server has nothing more to
// say: after its BYE when the client sent more than the server drains
// (serve.Linger stops at 256 KiB), and once COMPRESS is on, since the
// harness then sends uncompressed bytes, a corrupt stream the server can
// only drop. A reset before either is a failure.
func checkResponses(t *testing.T, br *bufio.Reader) {
	ended := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if err != io.EOF && !strings.Contains(err.Error(), "closed") &&
				!(ended && errors.Is(err, syscall.ECONNRESET)) {
				t.Fatalf("reading responses: %v", err)
			}
			return
		}
		ended = ended || strings.HasPrefix(line, "* BYE ") || strings.HasSuffix(line, " OK DEFLATE active\r\n")
		if !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("line without CRLF: %q", line)
		}
		head := line
		for {
			n, ok := literalSuffix(strings.TrimSuffix(line, "\r\n"))
			if !ok {
				break
			}
			if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
				t.Fatalf("short literal of %d: %v", n, err)
			}
			if line, err = br.ReadString('\n'); err != nil {
				t.Fatalf("line after literal: %v", err)
			}
		}
		line = head
		switch {
		case strings.HasPrefix(line, "+ "), strings.HasPrefix(line, "* "):
		default:
			tag, rest, ok := strings.Cut(line, " ")
			if !ok || tag == "" {
				t.Fatalf("malformed response line %q", line)
			}
			typ, _, _ := strings.Cut(rest, " ")
			if typ != "OK" && typ != "NO" && typ != "BAD" {
				t.Fatalf("tagged response without status: %q", line)
			}
		}
	}
}

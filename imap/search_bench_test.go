package imap

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/mailbox"
	"github.com/posthorn/posthorn/mailbox/maildir"
)

// SEARCH over a varied corpus, closer to real mail than benchMessage:
// plain US-ASCII text, quoted-printable UTF-8 alternatives, base64
// attachments and RFC 2047 subjects, one message in ten holding the word
// searched for. "appended" stores the messages through Append (the
// structure is cached at delivery); "delivered" writes them into cur/ as
// another delivery agent would, with the store's default options, and
// fills the metadata cache with one FETCH first, as a client would.

// searchCorpusMessage returns message i of the corpus (about 2–6 KiB).
func searchCorpusMessage(rng *rand.Rand, i int) string {
	vocab := strings.Fields("alpha report budget meeting quarterly invoice review draft server " +
		"storage mailbox network latency weekly summary notes plan agenda status update")
	line := func() string {
		w := make([]string, 9+rng.IntN(5))
		for j := range w {
			w[j] = vocab[rng.IntN(len(vocab))]
		}
		return strings.Join(w, " ") + "\r\n"
	}
	var text strings.Builder
	for range 15 + rng.IntN(35) {
		text.WriteString(line())
	}
	if i%10 == 0 {
		text.WriteString("here is the corpusneedle you asked for\r\n")
	}
	var b strings.Builder
	subject := strings.TrimSpace(line())
	if i%6 == 0 {
		subject = "=?UTF-8?Q?R=C3=A9sum=C3=A9?= " + subject
	}
	fmt.Fprintf(&b, "Received: from relay%d.example.net by mx.example.com; Mon, 2 Mar 2026 09:%02d:00 +0000\r\n", i%9, i%60)
	fmt.Fprintf(&b, "From: Sender %d <sender%d@example.net>\r\nTo: Sara <sara@example.org>\r\n", i%53, i%53)
	fmt.Fprintf(&b, "Subject: %s\r\nDate: Mon, 2 Mar 2026 09:%02d:00 +0000\r\nMessage-ID: <c%d@example.net>\r\nMIME-Version: 1.0\r\n", subject, i%60, i)
	switch i % 4 {
	case 0, 1:
		b.WriteString("Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text.String())
	case 2:
		b.WriteString("Content-Type: multipart/alternative; boundary=\"=alt\"\r\n\r\n--=alt\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			text.String() + "--=alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>" + text.String() + "</div>\r\n--=alt--\r\n")
	case 3:
		att := make([]byte, 500+rng.IntN(1500))
		for j := range att {
			att[j] = byte(rng.Uint32())
		}
		enc := base64.StdEncoding.EncodeToString(att)
		b.WriteString("Content-Type: multipart/mixed; boundary=\"=mix\"\r\n\r\n--=mix\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
			text.String() + "--=mix\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n--=mix--\r\n")
	}
	return b.String()
}

// searchCorpusStore builds sara's INBOX of n corpus messages in a Maildir
// store, appended or delivered into cur/.
func searchCorpusStore(b *testing.B, n int, delivered bool) mailbox.Store {
	b.Helper()
	root := b.TempDir()
	users := new(maildir.Users)
	users.Add("sara", "secret")
	st := &maildir.Store{Root: root, Users: users, Logger: slog.New(slog.DiscardHandler)}
	rng := rand.New(rand.NewPCG(1, 2))
	if !delivered {
		st.PollInterval = -1
		mb, done := openInbox(b, st)
		defer done()
		for i := range n {
			if _, err := mb.Append(b.Context(), strings.NewReader(searchCorpusMessage(rng, i)), &mailbox.AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		return st
	}
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, "sara", d), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		msg := searchCorpusMessage(rng, i)
		name := fmt.Sprintf("%d.M%dP1Q%d.bench,S=%d:2,", 1767258000+i, i, i, len(msg))
		if err := os.WriteFile(filepath.Join(root, "sara", "cur", name), []byte(msg), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// BenchmarkSearchCorpus measures SEARCH on the varied corpus: TEXT (the
// header, then the body text), BODY, and a header field.
func BenchmarkSearchCorpus(b *testing.B) {
	for _, delivered := range []bool{false, true} {
		name := map[bool]string{false: "appended", true: "delivered"}[delivered]
		addr := serveBench(b, searchCorpusStore(b, benchMessages, delivered))
		for _, cmd := range []struct{ name, cmd string }{
			{"Text", "UID SEARCH TEXT corpusneedle"},
			{"Body", "UID SEARCH BODY corpusneedle"},
			{"From", "UID SEARCH FROM sender7@"},
		} {
			b.Run(name+"/"+cmd.name, func(b *testing.B) {
				c := dialBench(b, addr, "LOGIN sara secret", "SELECT INBOX", "UID FETCH 1:* (ENVELOPE BODYSTRUCTURE)")
				c.do(b, cmd.cmd)
				b.ReportAllocs()
				b.ResetTimer()
				cpu := cpuTime()
				for b.Loop() {
					c.do(b, cmd.cmd)
				}
				reportCPU(b, cpu)
			})
		}
	}
}

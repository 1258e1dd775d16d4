package imap

import (
	"bytes"
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/posthorn/posthorn/internal/mime"
	"github.com/posthorn/posthorn/mailbox"
)

// Metadata in another layout (here: a bare mime.Marshal, as an older
// version stored) is recomputed and replaced, and FETCH stays right.
func TestFetchReplacesOldMetadata(t *testing.T) {
	e := newTestEnv(t)
	uid := e.appendMsg("INBOX", multipartMsg)
	ctx := context.Background()
	acct, err := e.store.Open(ctx, "sara")
	require.NoError(t, err)
	defer acct.Close()
	mb, err := acct.Mailbox(ctx, "INBOX")
	require.NoError(t, err)
	defer mb.Close()
	mc := mb.(mailbox.MetadataCache)
	p, err := mime.Parse(strings.NewReader(multipartMsg), nil)
	require.NoError(t, err)
	require.NoError(t, mc.SetMetadata(ctx, uid, mime.Marshal(p)))

	c := e.selectInbox()
	c.send("a FETCH 1 (ENVELOPE BODY.PEEK[1])")
	c.expectFold(`* 1 FETCH (ENVELOPE ("Tue, 5 Mar 2024 10:00:00 +0000" "parts" *) BODY[1] {5}hello)`)
	c.expect("a OK *")
	data, err := mc.Metadata(ctx, uid)
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(data, []byte(metaMagic)), "metadata not rewritten")
	// Served from the cache the second time, identically.
	c.send("b FETCH 1 (ENVELOPE BODY.PEEK[1])")
	c.expectFold(`* 1 FETCH (ENVELOPE ("Tue, 5 Mar 2024 10:00:00 +0000" "parts" *) BODY[1] {5}hello)`)
	c.expect("b OK *")
}

// FuzzDecodeMeta: cache data from a store is never trusted to be well
// formed; a rendered entry decodes to what was rendered.
func FuzzDecodeMeta(f *testing.F) {
	p, _ := mime.Parse(strings.NewReader(multipartMsg), nil)
	good, _ := renderMeta(p)
	f.Add(good)
	f.Add([]byte(metaMagic + "\x05abc"))
	f.Add([]byte("PHm1\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMeta(data)
		if err != nil {
			return
		}
		// Re-encode the fields: the result decodes to the same entry.
		out := []byte(metaMagic)
		for _, fld := range [][]byte{m.envelope, m.bodyStructure, m.body} {
			out = binary.AppendUvarint(out, uint64(len(fld)))
			out = append(out, fld...)
		}
		out = append(out, m.partData...)
		m2, err := decodeMeta(out)
		if err != nil || !bytes.Equal(m2.envelope, m.envelope) || !bytes.Equal(m2.bodyStructure, m.bodyStructure) ||
			!bytes.Equal(m2.body, m.body) || !bytes.Equal(m2.partData, m.partData) {
			t.Fatalf("re-encoded entry differs: %v", err)
		}
	})
}

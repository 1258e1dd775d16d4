package main

import (
	"context"
	"io"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func serve(t *testing.T, sink *Sink) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := newServer(sink, false)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestSinkWritesMessages(t *testing.T) {
	dir := t.TempDir()
	sink := &Sink{Dir: dir}
	addr := serve(t, sink)
	msg := "Subject: hi\r\n\r\n.leading dot\r\nbody\r\n"
	// net/smtp is an independent client here.
	require.NoError(t, smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org", "c@example.org"}, []byte(msg)))
	require.NoError(t, smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org"}, []byte(msg)))
	assert.Equal(t, int64(2), sink.Messages.Load())
	assert.Equal(t, int64(2*len(msg)), sink.Bytes.Load())
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	got, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Equal(t, msg, string(got), "stored byte for byte, dot unstuffed")
}

func TestSinkDiscards(t *testing.T) {
	sink := &Sink{}
	addr := serve(t, sink)
	require.NoError(t, smtp.SendMail(addr, nil, "a@example.org", []string{"b@example.org"}, []byte(strings.Repeat("x", 100000)+"\r\n")))
	assert.Equal(t, int64(1), sink.Messages.Load())
	assert.Equal(t, int64(100002), sink.Bytes.Load())
	s := sinkSession{sink}
	assert.NoError(t, s.Mail(context.Background(), "", nil))
	assert.NoError(t, s.Data(context.Background(), io.LimitReader(strings.NewReader("abc"), 3)))
}

func TestRunBadAddress(t *testing.T) {
	var out strings.Builder
	assert.Error(t, run("127.0.0.1:-1", "", false, &out))
}

package relay

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testEnvelope() *Envelope {
	return &Envelope{
		From: "bob@bob.example",
		Mail: smtp.MailOptions{EnvelopeID: "env-1", Return: smtp.DSNReturnHeaders},
		Recipients: []Recipient{
			{Address: "jim@jim.example", Options: smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}}},
			{Address: "sara@sara.example"},
		},
		Received: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
	}
}

func TestDirSpoolRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := &DirSpool{Dir: filepath.Join(t.TempDir(), "spool")}
	env := testEnvelope()
	body := "Subject: hi\r\n\r\nbody\r\n"
	id, err := s.Put(ctx, env, strings.NewReader(body))
	require.NoError(t, err)
	assert.Equal(t, id, env.ID)
	assert.Equal(t, int64(len(body)), env.Size)

	rc, err := s.Open(ctx, id)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	rc.Close()
	require.NoError(t, err)
	assert.Equal(t, body, string(got))

	// A second DirSpool on the same directory (a restart) sees the same state.
	s2 := &DirSpool{Dir: s.Dir}
	list, err := s2.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, env, list[0])

	env.Recipients[0].State = StateDelivered
	env.Recipients[1].Attempts = 2
	env.Recipients[1].LastError = "451 4.3.0 try later"
	require.NoError(t, s.Update(ctx, env))
	list, err = s2.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, StateDelivered, list[0].Recipients[0].State)
	assert.Equal(t, "451 4.3.0 try later", list[0].Recipients[1].LastError)

	require.NoError(t, s.Remove(ctx, id))
	list, err = s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.Open(ctx, id)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, s.Remove(ctx, id), ErrNotFound)
	assert.ErrorIs(t, s.Update(ctx, env), ErrNotFound)
}

func TestDirSpoolRejectsBadIDs(t *testing.T) {
	ctx := context.Background()
	s := &DirSpool{Dir: t.TempDir()}
	for _, id := range []string{"", "../x", "a/b", "A", strings.Repeat("a", 65), "x.json"} {
		_, err := s.Open(ctx, id)
		assert.ErrorIs(t, err, ErrNotFound, id)
		assert.ErrorIs(t, s.Remove(ctx, id), ErrNotFound, id)
		assert.ErrorIs(t, s.Update(ctx, &Envelope{ID: id}), ErrNotFound, id)
	}
}

func TestDirSpoolRecover(t *testing.T) {
	ctx := context.Background()
	s := &DirSpool{Dir: t.TempDir()}
	id, err := s.Put(ctx, testEnvelope(), strings.NewReader("x\r\n"))
	require.NoError(t, err)
	// What a crash can leave: a tmp file and a message without envelope.
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "tmp", "zz.msg"), []byte("partial"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "msg", "orphan-1"), []byte("x"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "env", "orphan-1.0a0b0c0d"+tmpSuffix), []byte("{"), 0o600))
	require.NoError(t, s.Recover(ctx))
	tmp, _ := os.ReadDir(filepath.Join(s.Dir, "tmp"))
	assert.Empty(t, tmp)
	envs, _ := os.ReadDir(filepath.Join(s.Dir, "env"))
	assert.Len(t, envs, 1, "an envelope being written is deleted, the queued one kept")
	_, err = os.Stat(filepath.Join(s.Dir, "msg", "orphan-1"))
	assert.True(t, os.IsNotExist(err))
	_, err = s.Open(ctx, id)
	assert.NoError(t, err, "a queued message must survive Recover")
}

func TestDirSpoolDamagedEnvelope(t *testing.T) {
	ctx := context.Background()
	s := &DirSpool{Dir: t.TempDir()}
	_, err := s.Put(ctx, testEnvelope(), strings.NewReader("x\r\n"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(s.Dir, "env", "bad-1.json"), []byte("{not json"), 0o600))
	list, err := s.List(ctx)
	assert.Error(t, err, "a damaged envelope is reported")
	assert.Len(t, list, 1, "and the good ones are still listed")
}

func TestDirSpoolPutCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &DirSpool{Dir: t.TempDir()}
	_, err := s.Put(ctx, testEnvelope(), strings.NewReader("x\r\n"))
	assert.ErrorIs(t, err, context.Canceled)
	list, err := s.List(context.Background())
	require.NoError(t, err)
	assert.Empty(t, list, "nothing is queued by a failed Put")
	msgs, _ := os.ReadDir(filepath.Join(s.Dir, "msg"))
	assert.Empty(t, msgs)
}

func TestStateText(t *testing.T) {
	for _, s := range []State{StatePending, StateDelivered, StateFailed} {
		b, err := s.MarshalText()
		require.NoError(t, err)
		var back State
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, s, back)
	}
	var s State
	assert.Error(t, s.UnmarshalText([]byte("lost")))
	assert.Equal(t, "State(?)", State(9).String())
}

func BenchmarkDirSpoolPut(b *testing.B) {
	ctx := context.Background()
	s := &DirSpool{Dir: b.TempDir()}
	body := strings.Repeat("x", 10<<10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := s.Put(ctx, testEnvelope(), strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}

package relay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waiting returns how many callers wait for a round.
func (g *groupSync) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiters
}

// TestGroupSyncSharesRounds: callers arriving while a round runs share the
// next one, and each gets the error of its own round.
func TestGroupSyncSharesRounds(t *testing.T) {
	var g groupSync
	const n = 16
	var rounds atomic.Int32
	release := make(chan struct{})
	boom := errors.New("fsync: input/output error")
	fn := func() error {
		switch rounds.Add(1) {
		case 1:
			<-release // the first round holds until the others wait
			return nil
		case 2:
			return boom
		}
		return nil
	}
	first := make(chan error, 1)
	go func() { first <- g.sync(&syncReq{}, fn) }()
	for rounds.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	errs := make(chan error, n)
	for range n {
		go func() { errs <- g.sync(&syncReq{}, fn) }()
	}
	// The first caller waits for its round, the others for the next.
	waitFor(t, func() bool { return g.waiting() == n+1 }, "callers queue behind the running round")
	close(release)
	require.NoError(t, <-first, "the first round succeeded")
	for range n {
		assert.ErrorIs(t, <-errs, boom, "every caller of the failed round gets its error")
	}
	assert.EqualValues(t, 2, rounds.Load(), "the callers shared one round")
	assert.NoError(t, g.sync(&syncReq{}, fn), "a later round starts afresh")
}

// waitFor polls cond until it holds, failing after a few seconds.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out: " + what)
		}
		time.Sleep(time.Millisecond)
	}
}

// syncRecorder is a DirSpool sync hook: for each round it records the
// entries of the directory when the round starts and marks the round done
// once it returns.
type syncRecorder struct {
	mu      sync.Mutex
	rounds  []syncRound
	failDir string // every round of this directory fails with failErr
	failErr error
}

type syncRound struct {
	dir     string
	entries map[string]bool
	done    bool
}

func (r *syncRecorder) sync(dir string) error {
	names, _ := os.ReadDir(dir)
	entries := map[string]bool{}
	for _, e := range names {
		entries[e.Name()] = true
	}
	r.mu.Lock()
	i := len(r.rounds)
	r.rounds = append(r.rounds, syncRound{dir: filepath.Base(dir), entries: entries})
	fail := r.failDir == filepath.Base(dir)
	r.mu.Unlock()
	time.Sleep(time.Millisecond) // an fsync takes a while; others pile up
	if fail {
		return r.failErr
	}
	err := syncDir(dir)
	r.mu.Lock()
	r.rounds[i].done = true
	r.mu.Unlock()
	return err
}

// covered reports whether a finished round of dir saw name.
func (r *syncRecorder) covered(dir, name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rd := range r.rounds {
		if rd.dir == dir && rd.done && rd.entries[name] {
			return true
		}
	}
	return false
}

func (r *syncRecorder) count(dir string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rd := range r.rounds {
		if rd.dir == dir {
			n++
		}
	}
	return n
}

// TestDirSpoolPutAcksAfterItsSyncRound: when Put returns, a directory
// fsync of msg/ and one of env/ that started after the message's and the
// envelope's renames have completed; concurrent Puts share those rounds.
func TestDirSpoolPutAcksAfterItsSyncRound(t *testing.T) {
	rec := &syncRecorder{}
	s := &DirSpool{Dir: t.TempDir(), syncDir: rec.sync}
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, err := s.Put(context.Background(), testEnvelope(), strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)))
			if !assert.NoError(t, err) {
				return
			}
			// Checked as Put returns: rounds that end later do not count.
			assert.True(t, rec.covered("msg", id), "Put %s returned before a sync of msg/ covering it ended", id)
			assert.True(t, rec.covered("env", id+".json"), "Put %s returned before a sync of env/ covering it ended", id)
		})
	}
	wg.Wait()
	list, err := s.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, n)
	t.Logf("%d Puts, %d rounds of msg/, %d of env/", n, rec.count("msg"), rec.count("env"))
	assert.Less(t, rec.count("msg")+rec.count("env"), 2*n, "concurrent Puts share fsync rounds")
}

// TestDirSpoolFailedSyncFailsTheRound: when the shared fsync fails, every
// Put of the round fails with an error the submission server answers with
// a temporary 451, and nothing of those messages stays queued.
func TestDirSpoolFailedSyncFailsTheRound(t *testing.T) {
	for _, dir := range []string{"msg", "env"} {
		t.Run(dir, func(t *testing.T) {
			boom := errors.New("fsync: input/output error")
			rec := &syncRecorder{failDir: dir, failErr: boom}
			s := &DirSpool{Dir: t.TempDir(), syncDir: rec.sync}
			const n = 8
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := s.Put(context.Background(), testEnvelope(), strings.NewReader("x\r\n"))
					errs <- err
				}()
			}
			for range n {
				err := <-errs
				assert.ErrorIs(t, err, boom)
				assert.Contains(t, err.Error(), "temporary")
				assert.Zero(t, replyCode(err), "not an SMTP reply: the server answers 451 4.3.0")
			}
			list, err := s.List(context.Background())
			require.NoError(t, err)
			assert.Empty(t, list, "no message of a failed round is queued")
			msgs, _ := os.ReadDir(filepath.Join(s.Dir, "msg"))
			assert.Empty(t, msgs, "nor left behind")

			s.syncDir = nil // the disk recovers
			_, err = s.Put(context.Background(), testEnvelope(), strings.NewReader("x\r\n"))
			assert.NoError(t, err)
		})
	}
}

// BenchmarkDirSpoolPutConcurrent: accepted messages per second with 1, 8
// and 64 concurrent submitters, each Put durable before it returns, and
// fsync rounds per message (each round: the files of its Puts, then their
// directory).
func BenchmarkDirSpoolPutConcurrent(b *testing.B) {
	body := "Subject: bench\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 56) // 1 KiB
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("submitters=%d", n), func(b *testing.B) {
			var rounds atomic.Int64
			s := &DirSpool{Dir: b.TempDir(), syncDir: func(dir string) error {
				rounds.Add(1)
				return syncDir(dir)
			}}
			var left atomic.Int64
			left.Store(int64(b.N))
			b.ResetTimer()
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					for left.Add(-1) >= 0 {
						if _, err := s.Put(context.Background(), testEnvelope(), strings.NewReader(body)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			// Without group commit: 2 (a round of msg/ and one of env/).
			b.ReportMetric(float64(rounds.Load())/float64(b.N), "rounds/msg")
		})
	}
}

// BenchmarkGroupSync isolates the group commit from the file system: a
// simulated directory fsync takes 1 ms and the device runs one at a time.
// Each caller syncing on its own ("alone") gets about 1,000 syncs/s
// whatever the concurrency; callers sharing rounds ("shared") get about
// as many more as there are callers per round.
func BenchmarkGroupSync(b *testing.B) {
	var device sync.Mutex
	fsync := func() error {
		device.Lock()
		time.Sleep(time.Millisecond)
		device.Unlock()
		return nil
	}
	for _, mode := range []string{"alone", "shared"} {
		for _, n := range []int{1, 8, 64} {
			b.Run(fmt.Sprintf("%s/callers=%d", mode, n), func(b *testing.B) {
				var g groupSync
				var left atomic.Int64
				left.Store(int64(b.N))
				var wg sync.WaitGroup
				for range n {
					wg.Go(func() {
						for left.Add(-1) >= 0 {
							if mode == "alone" {
								fsync()
							} else {
								g.sync(&syncReq{}, fsync)
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "syncs/s")
			})
		}
	}
}

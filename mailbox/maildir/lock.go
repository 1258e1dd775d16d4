//go:build unix

package maildir

import (
	"os"
	"syscall"
)

// flock takes an exclusive advisory lock on f, waiting for it. Locks are
// per open file description, so two handles of one process on the same
// lock file exclude each other as two processes do.
func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

// tryFlock takes the lock if nobody holds it, without waiting.
func tryFlock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func funlock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

// inode identifies a file, to notice that the index was replaced.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

const syscallNoFollow = syscall.O_NOFOLLOW

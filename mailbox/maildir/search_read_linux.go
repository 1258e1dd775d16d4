package maildir

import (
	"slices"
	"syscall"
)

// openRaw opens the file of message uid (mu held) as Open does (see
// openMsgFile), without making a reader. ok is false when the caller must
// go through Open: unknown UID, a name that is not one short path
// component, or any error.
func (f *folder) openRaw(uid uint32) (fd int, size int64, ok bool) {
	i := f.s.find(uid)
	if i < 0 {
		return 0, 0, false
	}
	rec := &f.s.msgs[i]
	cur := rec.flags&inCur != 0
	if _, err := f.sub(cur); err != nil {
		return 0, 0, false
	}
	fd, errno, ok := openMsgFile(f.subDirs[boolInt(cur)], f.s.nameBytes(rec))
	if !ok || errno != 0 {
		return 0, 0, false
	}
	return fd, rec.size, true
}

// readRaw appends the size octets of the file fd to dst with pread(2) and
// closes fd. ok is false when the file does not hold exactly size octets
// or cannot be read.
func readRaw(fd int, size int64, dst []byte) ([]byte, bool) {
	defer syscall.Close(fd)
	// One octet more than expected tells a grown file in the same read.
	out := slices.Grow(dst, int(size)+1)
	buf := out[len(dst) : len(dst)+int(size)+1]
	n := 0
	for n < len(buf) {
		k, err := syscall.Pread(fd, buf[n:], int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		if k == 0 {
			break
		}
		n += k
	}
	if int64(n) != size {
		return nil, false
	}
	return out[:len(dst)+n], true
}

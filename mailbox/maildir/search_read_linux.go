package maildir

import (
	"slices"
	"syscall"
	"unsafe"
)

// openRaw opens the file of message uid (mu held) with openat(2) on the
// directory kept open, the name NUL-terminated on the stack. ok is false
// when the caller must go through Open: unknown UID, a name that is not
// one short path component, or any error.
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
	name := f.s.nameBytes(rec)
	var path [256]byte
	if len(name) >= len(path) || !componentBytes(name) {
		return 0, 0, false
	}
	copy(path[:], name)
	path[len(name)] = 0
	dir := f.subDirs[boolInt(cur)].Fd()
	for {
		r, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, dir, uintptr(unsafe.Pointer(&path[0])),
			syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0, 0, 0)
		switch errno {
		case 0:
			return int(r), rec.size, true
		case syscall.EINTR:
			continue
		}
		return 0, 0, false
	}
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

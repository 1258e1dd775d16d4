package maildir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// openIn opens the message file name inside the directory dir for reading,
// without following a symbolic link. It is one openat(2) and one fcntl(2):
// os.Root.OpenFile would add three more fcntl(2) calls and an epoll_ctl(2)
// per message, which a FETCH or RETR of a whole mailbox feels. name must be
// a single path component; anything else goes through root.
func openIn(dir *os.File, root *os.Root, name string) (*os.File, error) {
	if !component(name) {
		return root.OpenFile(name, os.O_RDONLY|syscallNoFollow, 0)
	}
	fd, err := syscall.Openat(int(dir.Fd()), name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// renameIn renames the entry oldName of the subdirectory oldSub of the
// folder (held open as oldDir) to newName in newSub (held open as newDir):
// one renameat(2) on the two directory descriptors, where os.Root.Rename
// would open both directories again and add an fstatat(2) of the target.
// The names go to the kernel NUL-terminated in *scratch, reused from call
// to call, so that a rename allocates nothing. Both names must be single
// path components; anything else goes through root, the folder directory.
func renameIn(root *os.Root, oldDir *os.File, oldSub string, oldName []byte, newDir *os.File, newSub string, newName []byte, scratch *[]byte) error {
	if !componentBytes(oldName) || !componentBytes(newName) {
		return root.Rename(oldSub+"/"+string(oldName), newSub+"/"+string(newName))
	}
	oldFd, newFd := oldDir.Fd(), newDir.Fd()
	for {
		errno := renameat(oldFd, oldName, newFd, newName, scratch)
		switch errno {
		case 0:
			return nil
		case syscall.EINTR:
			continue
		}
		return &os.LinkError{Op: "renameat", Old: string(oldName), New: string(newName), Err: errno}
	}
}

// component reports whether name is one path component naming an entry.
func component(name string) bool {
	return name != "" && name != "." && name != ".." && strings.IndexByte(name, '/') < 0
}

// componentBytes is component of a name held in bytes, without a copy.
func componentBytes(name []byte) bool {
	return len(name) > 0 && string(name) != "." && string(name) != ".." && bytes.IndexByte(name, '/') < 0
}

// noAtimeDenied is set once openat(2) refused O_NOATIME (EPERM: the file
// belongs to another user and the process lacks CAP_FOWNER); later opens
// then go without it.
var noAtimeDenied atomic.Bool

// openBare opens the message file name (one path component) inside dir,
// whose index says it holds size octets, as a bareFile: one openat(2),
// without following a symbolic link, with O_NOATIME where the kernel
// allows it and O_NONBLOCK so that a FIFO put in place of a message cannot
// block the open (reads of regular files ignore it). No *os.File is made:
// os.NewFile would add an fcntl(2), an epoll_ctl(2) attempt and a finalizer
// per message.
func openBare(dir *os.File, name []byte, size int64, uid uint32) (io.ReadCloser, error) {
	fd, errno, ok := openMsgFile(dir, name)
	if !ok {
		return nil, errNotBare
	}
	if errno != 0 {
		return nil, &os.PathError{Op: "openat", Path: string(name), Err: errno}
	}
	r := &bareFile{fd: fd, size: size, uid: uid}
	if size >= statMin {
		var st syscall.Stat_t
		if err := syscall.Fstat(r.fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Size != size {
			r.Close()
			return nil, changedOnDisk(uid)
		}
	}
	return r, nil
}

// openMsgFile is the openat(2) of every read of a message file (Open and
// ReadMessage): name, one path component, inside dir, read-only, without
// following a symbolic link, with O_NOATIME where the kernel allows it and
// O_NONBLOCK. The name is NUL-terminated on the stack (nothing allocated).
// ok is false for a name that is not one short component.
func openMsgFile(dir *os.File, name []byte) (fd int, errno syscall.Errno, ok bool) {
	var path [256]byte // a name is at most 255 bytes
	if !componentBytes(name) || len(name) >= len(path) {
		return 0, 0, false
	}
	copy(path[:], name)
	dirfd := dir.Fd()
	flags := syscall.O_RDONLY | syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	for {
		fl := flags
		if !noAtimeDenied.Load() {
			fl |= syscall.O_NOATIME
		}
		r, _, errno := syscall.Syscall6(syscall.SYS_OPENAT, dirfd, uintptr(unsafe.Pointer(&path[0])), uintptr(fl), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EPERM && fl&syscall.O_NOATIME != 0:
			noAtimeDenied.Store(true)
			continue
		}
		return int(r), errno, true
	}
}

// bareFile is what Open returns on Linux: a message file as a bare
// descriptor, read with pread(2) (io.Reader, io.ReaderAt, io.Seeker),
// limited to the size the index knows. A file whose size is no longer that
// one (changed by another program) fails the read that meets the
// difference: the read that reaches the indexed end asks the kernel for
// one octet more (in the room p has past the indexed end, or else with
// preadv(2) into a second buffer), so neither a shorter nor a longer file
// goes unnoticed, and a message read whole costs one system call. Fd exposes the descriptor (for sendfile(2)); it is valid
// until Close. There is no finalizer: Close must be called.
type bareFile struct {
	fd   int
	size int64
	off  int64 // of Read and Seek
	uid  uint32
}

// Read reads from the current offset.
func (r *bareFile) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n, err := r.pread(p, r.off)
	r.off += int64(n)
	if err == io.EOF {
		err = nil // at the end: the next Read says so
	}
	return n, err
}

// ReadAt reads len(p) octets at off, or up to the indexed end with io.EOF.
func (r *bareFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("maildir: negative offset")
	}
	if off >= r.size {
		return 0, io.EOF
	}
	return r.pread(p, off)
}

// Seek sets the offset of the next Read.
func (r *bareFile) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("maildir: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("maildir: negative position")
	}
	r.off = offset
	return offset, nil
}

// Size is the message's indexed size.
func (r *bareFile) Size() int64 { return r.size }

// Fd returns the open descriptor, valid until Close.
func (r *bareFile) Fd() uintptr { return uintptr(r.fd) }

// Close closes the descriptor.
func (r *bareFile) Close() error {
	if r.fd < 0 {
		return os.ErrClosed
	}
	fd := r.fd
	r.fd = -1
	return syscall.Close(fd)
}

// pread is syscall.Pread with the errno as it came.
func pread(fd int, p []byte, off int64) (int, syscall.Errno) {
	n, err := syscall.Pread(fd, p, off)
	if errno, ok := err.(syscall.Errno); ok {
		return max(n, 0), errno
	}
	if err != nil {
		return 0, syscall.EIO
	}
	return n, 0
}

// pread fills p from off (0 ≤ off < size) up to the indexed end, io.EOF
// when p reaches past it.
func (r *bareFile) pread(p []byte, off int64) (int, error) {
	if r.fd < 0 {
		return 0, os.ErrClosed
	}
	want := min(int64(len(p)), r.size-off)
	end := off+want == r.size
	got := int64(0)
	for got < want {
		var k int
		var errno syscall.Errno
		switch pos := off + got; {
		case !end:
			k, errno = pread(r.fd, p[got:want], pos)
		case want < int64(len(p)):
			// One octet past the indexed end must not be there: asked
			// for in the room p has beyond it.
			k, errno = pread(r.fd, p[got:want+1], pos)
		default:
			// No room in p: the octet past the end goes to a second
			// buffer (preadv(2) costs more than pread(2), so only here).
			var extra [1]byte
			iov := [2]syscall.Iovec{{Base: &p[got]}, {Base: &extra[0]}}
			iov[0].SetLen(int(want - got))
			iov[1].SetLen(1)
			n, _, e := syscall.Syscall6(syscall.SYS_PREADV, uintptr(r.fd), uintptr(unsafe.Pointer(&iov[0])), 2,
				uintptr(pos), uintptr(pos>>32), 0)
			k, errno = int(n), e
		}
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			return int(got), &os.PathError{Op: "pread", Path: "UID " + strconv.FormatUint(uint64(r.uid), 10), Err: errno}
		case k == 0 || int64(k) > want-got:
			// Shorter or longer than indexed.
			return int(min(got+int64(k), want)), changedOnDisk(r.uid)
		}
		got += int64(k)
	}
	if want < int64(len(p)) {
		return int(got), io.EOF
	}
	return int(got), nil
}

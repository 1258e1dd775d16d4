package maildir

import (
	"os"
	"strings"
	"syscall"
)

// openIn opens the message file name inside the directory dir for reading,
// without following a symbolic link. It is one openat(2) and one fcntl(2):
// os.Root.OpenFile would add three more fcntl(2) calls and an epoll_ctl(2)
// per message, which a FETCH or RETR of a whole mailbox feels. name must be
// a single path component; anything else goes through root.
func openIn(dir *os.File, root *os.Root, name string) (*os.File, error) {
	if name == "" || name == "." || name == ".." || strings.IndexByte(name, '/') >= 0 {
		return root.OpenFile(name, os.O_RDONLY|syscallNoFollow, 0)
	}
	fd, err := syscall.Openat(int(dir.Fd()), name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

package maildir

import (
	"bytes"
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

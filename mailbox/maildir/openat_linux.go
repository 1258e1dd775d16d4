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
// Both names must be single path components; anything else goes through
// root, the folder directory.
func renameIn(root *os.Root, oldDir *os.File, oldSub, oldName string, newDir *os.File, newSub, newName string) error {
	if !component(oldName) || !component(newName) {
		return root.Rename(oldSub+"/"+oldName, newSub+"/"+newName)
	}
	if err := syscall.Renameat(int(oldDir.Fd()), oldName, int(newDir.Fd()), newName); err != nil {
		return &os.LinkError{Op: "renameat", Old: oldName, New: newName, Err: err}
	}
	return nil
}

// component reports whether name is one path component naming an entry.
func component(name string) bool {
	return name != "" && name != "." && name != ".." && strings.IndexByte(name, '/') < 0
}

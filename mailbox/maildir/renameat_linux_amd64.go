package maildir

import (
	"syscall"
	"unsafe"
)

// renameat is renameat(2) with the names passed NUL-terminated in *scratch,
// reused from call to call, so that a rename allocates nothing (where
// syscall.Renameat copies each name into a new buffer).
func renameat(oldFd uintptr, oldName []byte, newFd uintptr, newName []byte, scratch *[]byte) syscall.Errno {
	b := append(append(append(append((*scratch)[:0], oldName...), 0), newName...), 0)
	*scratch = b
	_, _, errno := syscall.Syscall6(syscall.SYS_RENAMEAT, oldFd, uintptr(unsafe.Pointer(&b[0])),
		newFd, uintptr(unsafe.Pointer(&b[len(oldName)+1])), 0, 0)
	return errno
}

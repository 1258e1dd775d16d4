//go:build linux && !amd64

package maildir

import "syscall"

// renameat is renameat(2) through the syscall package (scratch is unused).
func renameat(oldFd uintptr, oldName []byte, newFd uintptr, newName []byte, scratch *[]byte) syscall.Errno {
	err := syscall.Renameat(int(oldFd), string(oldName), int(newFd), string(newName))
	if err == nil {
		return 0
	}
	if errno, ok := err.(syscall.Errno); ok {
		return errno
	}
	return syscall.EIO
}

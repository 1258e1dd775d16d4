//go:build !linux

package maildir

import (
	"io"
	"os"
)

// openIn opens the message file name inside root for reading, without
// following a symbolic link (dir is the same directory, unused here).
func openIn(dir *os.File, root *os.Root, name string) (*os.File, error) {
	return root.OpenFile(name, os.O_RDONLY|syscallNoFollow, 0)
}

// renameIn renames the entry oldName of the subdirectory oldSub of the
// folder directory root to newName in newSub (oldDir and newDir, the same
// directories held open, and scratch are unused here).
func renameIn(root *os.Root, oldDir *os.File, oldSub string, oldName []byte, newDir *os.File, newSub string, newName []byte, scratch *[]byte) error {
	return root.Rename(oldSub+"/"+string(oldName), newSub+"/"+string(newName))
}

// openBare is the Linux fast path of Open; elsewhere Open goes through
// os.Root (errNotBare).
func openBare(dir *os.File, name []byte, size int64, uid uint32) (io.ReadCloser, error) {
	return nil, errNotBare
}

//go:build !linux

package maildir

import "os"

// openIn opens the message file name inside root for reading, without
// following a symbolic link (dir is the same directory, unused here).
func openIn(dir *os.File, root *os.Root, name string) (*os.File, error) {
	return root.OpenFile(name, os.O_RDONLY|syscallNoFollow, 0)
}

// renameIn renames oldName to newName inside root (dir, the same directory,
// is unused here).
func renameIn(dir *os.File, root *os.Root, oldName, newName string) error {
	return root.Rename(oldName, newName)
}

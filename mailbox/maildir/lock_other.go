//go:build !unix

package maildir

import (
	"os"
)

// Without flock(2) the store coordinates the handles of one process only;
// several processes must not share a tree.

func flock(f *os.File) error    { return nil }
func tryFlock(f *os.File) error { return nil }
func funlock(f *os.File) error  { return nil }

// inode is the identity of the index file; one process replaces it only
// through its own compaction, which it knows of.
func inode(fi os.FileInfo) uint64 { return 1 }

const syscallNoFollow = 0

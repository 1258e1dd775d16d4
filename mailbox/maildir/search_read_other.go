//go:build !linux

package maildir

// openRaw is not used outside Linux: ReadMessage goes through Open.
func (f *folder) openRaw(uint32) (fd int, size int64, ok bool) { return 0, 0, false }

func readRaw(int, int64, []byte) ([]byte, bool) { return nil, false }

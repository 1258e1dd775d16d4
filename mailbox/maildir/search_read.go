package maildir

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/posthorn/posthorn/mailbox"
)

var _ mailbox.MessageReader = (*mbox)(nil)

// ReadMessage implements mailbox.MessageReader: on Linux, one openat(2)
// of the message file (through new/ or cur/, kept open; the same open as
// Open's), one pread(2) of the whole file and one octet more into dst,
// and a close(2), with nothing allocated (Open allocates its reader). A
// file that is not where the index says (renamed by another process), or
// whose size is not the indexed one, goes through Open, which looks again
// or fails.
func (m *mbox) ReadMessage(ctx context.Context, uid mailbox.UID, dst []byte) ([]byte, error) {
	if err := m.begin(ctx); err != nil {
		return nil, err
	}
	f := m.f
	f.mu.Lock()
	if f.deleted.Load() || f.log == nil {
		f.mu.Unlock()
		return nil, fmt.Errorf("maildir: %q: %w", f.Name(), mailbox.ErrNotExist)
	}
	fd, size, ok := f.openRaw(uint32(uid))
	f.mu.Unlock()
	if ok {
		out, ok := readRaw(fd, size, dst)
		if ok {
			return out, nil
		}
	}
	rc, err := m.Open(ctx, uid)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 4096)
		}
		n, err := rc.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

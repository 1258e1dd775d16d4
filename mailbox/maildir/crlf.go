package maildir

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
)

// Messages are kept in CRLF form, as IMAP and POP3 send them: a message's
// Size is then the number of bytes Open returns and every line ends in CRLF.
// Append stores what it is given (clients send CRLF); files other programs
// drop into the tree (procmail, fetchmail MDAs, a hand-made mv) often use
// bare LF, so the scan that adopts a file rewrites it with CRLF line endings
// when it holds a bare LF or a bare CR (crlfize), before it gets a UID.

// crlfCheck reads r to its end through buf and reports whether it holds
// a bare LF or a bare CR, and how long it would be with every line ending
// in CRLF.
func crlfCheck(r io.Reader, buf []byte) (bare bool, size int64, err error) {
	var lf, cr, crlf int64
	prevCR := false // the last chunk ended with a CR
	for {
		n, rerr := r.Read(buf)
		b := buf[:n]
		if n > 0 {
			if prevCR && b[0] == '\n' {
				crlf++
			}
			lf += int64(bytes.Count(b, []byte{'\n'}))
			cr += int64(bytes.Count(b, []byte{'\r'}))
			crlf += int64(bytes.Count(b, []byte("\r\n")))
			prevCR = b[n-1] == '\r'
			size += int64(n)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return false, 0, rerr
		}
	}
	// Each bare LF lacks its CR, each bare CR its LF.
	bare = lf != crlf || cr != crlf
	return bare, size + (lf - crlf) + (cr - crlf), nil
}

// crlfWriter writes what it is given with every bare LF and bare CR turned
// into CRLF. Close flushes a CR left pending at the end.
type crlfWriter struct {
	w      *bufio.Writer
	prevCR bool
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch {
		case b == '\n':
			if !c.prevCR {
				c.w.WriteByte('\r')
			}
		case c.prevCR:
			c.w.WriteByte('\n')
		}
		c.prevCR = b == '\r'
		if err := c.w.WriteByte(b); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *crlfWriter) Close() error {
	if c.prevCR {
		c.w.WriteByte('\n')
		c.prevCR = false
	}
	return c.w.Flush()
}

// withSize returns the file name with ",S=<size>" in its base: the value
// of an existing ",S=" is replaced, otherwise the field is appended to the
// base. The info part (flags) is kept.
func withSize(name string, size int64) string {
	base, info, hasInfo := strings.Cut(name, ":")
	field := ",S=" + strconv.FormatInt(size, 10)
	if i := strings.Index(base, ",S="); i >= 0 {
		end := len(base)
		if j := strings.IndexByte(base[i+3:], ','); j >= 0 {
			end = i + 3 + j
		}
		base = base[:i] + field + base[end:]
	} else {
		base += field
	}
	if hasInfo {
		return base + ":" + info
	}
	return base
}

var errNotConverted = errors.New("maildir: file changed while converting it to CRLF")

// crlfize makes the file sub+name (sub "new/" or "cur/") hold CRLF line
// endings, for the scan that adopts it (lock held). It returns the name and
// size to record: the same name and its size when the file needs no change,
// or else a name with ",S=" set to the converted size, written through
// tmp/ (fsync, rename), after which the original is removed. The new
// name depends only on the old one and the contents, so a crash between
// the rename and the removal leaves a copy that the next scan converts to
// the same name again (taken reports names already adopted or indexed:
// the duplicate is then only removed). Conversion is skipped (converted
// false) when the new name would exceed 255 bytes.
func (f *folder) crlfize(sub, name string, taken func(base string) bool, buf []byte) (newName string, size int64, converted bool, err error) {
	dir, err := f.sub(sub == "cur/")
	if err != nil {
		return "", 0, false, err
	}
	fh, err := openIn(f.subDirs[boolInt(sub == "cur/")], dir, name)
	if err != nil {
		return "", 0, false, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return "", 0, false, err
	}
	if !fi.Mode().IsRegular() {
		return "", 0, false, errNotConverted
	}
	bare, size, err := crlfCheck(io.LimitReader(fh, fi.Size()), buf)
	if err != nil {
		return "", 0, false, err
	}
	if !bare {
		return name, fi.Size(), false, nil
	}
	newName = withSize(name, size)
	if len(newName) > 255 || newName == name {
		// No room for the size, or the name already claims the converted
		// size (and would be replaced in place, racing outside renames):
		// keep the file as it is.
		return name, fi.Size(), false, nil
	}
	if taken(baseOf(newName)) {
		// Converted already by a scan that crashed before removing it.
		if err := f.root.Remove(sub + name); err != nil {
			return "", 0, false, err
		}
		return "", 0, true, nil
	}
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		return "", 0, false, err
	}
	tmpName := "tmp/" + uniqueBase()
	out, err := f.root.OpenFile(tmpName, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, false, err
	}
	cw := &crlfWriter{w: bufio.NewWriterSize(out, 64<<10)}
	n, err := io.Copy(cw, io.LimitReader(fh, fi.Size()))
	if err == nil {
		err = cw.Close()
	}
	if err == nil && n != fi.Size() {
		err = errNotConverted
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if st, serr := f.root.Stat(tmpName); serr != nil || st.Size() != size {
			err = errors.Join(serr, errNotConverted) // the file grew or shrank while we read it
		}
	}
	if err == nil {
		err = f.root.Rename(tmpName, sub+newName)
	}
	if err != nil {
		f.root.Remove(tmpName)
		return "", 0, false, err
	}
	if err := f.root.Remove(sub + name); err != nil {
		// Renamed or removed by another program meanwhile: undo, and let
		// the next scan find it wherever it went.
		f.root.Remove(sub + newName)
		return "", 0, false, errNotConverted
	}
	return newName, size, true, nil
}

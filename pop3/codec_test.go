package pop3

import (
	"bytes"

	"github.com/posthorn/posthorn/internal/textwire"
)

func encodeDot(msg []byte) []byte { return textwire.EncodeDot(msg) }

// wireForm is msg with CRLF line endings and a final CRLF, as RETR sends it.
func wireForm(msg []byte) []byte {
	n := textwire.NormalizeCRLF(msg)
	if len(n) > 0 && !bytes.HasSuffix(n, []byte("\r\n")) {
		n = append(n, '\r', '\n')
	}
	return n
}

// Code generated from imap/internal/wire/errors.go by a temporary shim; DO NOT EDIT.
// The server cannot import imap/internal/wire while wire imports imap
// (import cycle); this copy goes away when the cycle is resolved.

package imap

import (
	"errors"
	"fmt"
)

// Sentinel limit errors, wrapped by *wireSyntaxError and *wireLiteralError.
var (
	errWireLineTooLong = errors.New("line too long")
	errWireTooDeep     = errors.New("nesting too deep")
	errWireTooBig      = errors.New("literal too big")
)

// wireSyntaxError reports input that does not follow the grammar, or a line
// or nesting limit that was crossed. A server answers it with BAD.
type wireSyntaxError struct {
	Msg string // what was expected
	Err error  // errWireLineTooLong, errWireTooDeep or nil
}

func (e *wireSyntaxError) Error() string {
	if e.Err != nil {
		return "imap: syntax error: " + e.Msg + ": " + e.Err.Error()
	}
	return "imap: syntax error: " + e.Msg
}

func (e *wireSyntaxError) Unwrap() error { return e.Err }

// wireLiteralError reports a literal that was refused, before any of its
// contents were read. For a synchronising literal the peer sends nothing
// more on that line; for a non-synchronising one (NonSync) Size octets
// follow, which the caller must skip (wireDecoder.Skip) or close the
// connection.
type wireLiteralError struct {
	Size    int64
	NonSync bool
	Binary  bool
	Err     error // errWireTooBig, or the error OnLiteral returned
}

func (e *wireLiteralError) Error() string {
	return fmt.Sprintf("imap: literal of %d octets refused: %v", e.Size, e.Err)
}

func (e *wireLiteralError) Unwrap() error { return e.Err }

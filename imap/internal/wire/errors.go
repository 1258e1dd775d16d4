package wire

import (
	"errors"
	"fmt"
)

// Sentinel limit errors, wrapped by *SyntaxError and *LiteralError.
var (
	ErrLineTooLong = errors.New("line too long")
	ErrTooDeep     = errors.New("nesting too deep")
	ErrTooBig      = errors.New("literal too big")
)

// SyntaxError reports input that does not follow the grammar, or a line
// or nesting limit that was crossed. A server answers it with BAD.
type SyntaxError struct {
	Msg string // what was expected
	Err error  // ErrLineTooLong, ErrTooDeep or nil
}

func (e *SyntaxError) Error() string {
	if e.Err != nil {
		return "imap: syntax error: " + e.Msg + ": " + e.Err.Error()
	}
	return "imap: syntax error: " + e.Msg
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// LiteralError reports a literal that was refused, before any of its
// contents were read. For a synchronising literal the peer sends nothing
// more on that line; for a non-synchronising one (NonSync) Size octets
// follow, which the caller must skip (Decoder.Skip) or close the
// connection.
type LiteralError struct {
	Size    int64
	NonSync bool
	Binary  bool
	Err     error // ErrTooBig, or the error OnLiteral returned
}

func (e *LiteralError) Error() string {
	return fmt.Sprintf("imap: literal of %d octets refused: %v", e.Size, e.Err)
}

func (e *LiteralError) Unwrap() error { return e.Err }

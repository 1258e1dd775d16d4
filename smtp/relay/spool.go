package relay

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/posthorn/posthorn/smtp"
)

// ErrNotFound is returned for a message ID the spool does not hold.
var ErrNotFound = errors.New("relay: no such message in the spool")

// State is where one recipient of a queued message stands.
type State uint8

// Recipient states. Delivered and Failed are final.
const (
	StatePending   State = iota // not delivered yet; NextAttempt says when to try
	StateDelivered              // the receiving server answered 250 (or local delivery succeeded)
	StateFailed                 // permanent failure or expiry; a bounce is due (see Recipient.Notify)
)

var stateNames = [...]string{StatePending: "pending", StateDelivered: "delivered", StateFailed: "failed"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(?)"
}

// MarshalText makes State readable in the spool's JSON files.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses what MarshalText wrote.
func (s *State) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) {
			*s = State(i)
			return nil
		}
	}
	return errors.New("relay: unknown recipient state " + string(b))
}

// Recipient is one envelope recipient of a queued message and its delivery
// state.
type Recipient struct {
	Address string
	Options smtp.RcptOptions // DSN NOTIFY and ORCPT from the submission

	State       State
	Attempts    int
	LastAttempt time.Time `json:",omitzero"`
	NextAttempt time.Time `json:",omitzero"`
	// LastError is the last reply or error, as "550 5.1.1 text" when it
	// was an SMTP reply.
	LastError string `json:",omitempty"`
	// Status is the RFC 3463 status code for a DSN ("5.1.1"), set on
	// failure and delay.
	Status string `json:",omitempty"`
	// RemoteMTA is the host that gave the last reply, for the DSN.
	RemoteMTA string `json:",omitempty"`
	// DelayNotified is set once a "delayed" DSN was sent for this recipient.
	DelayNotified bool `json:",omitempty"`
}

// Envelope is a queued message: who sent it, to whom, and how far delivery
// has come. The spool stores it beside the message bytes.
type Envelope struct {
	ID         string
	From       string           // reverse path; "" for the null sender (bounces)
	Mail       smtp.MailOptions // SMTPUTF8, BODY, REQUIRETLS, DSN RET and ENVID
	Recipients []Recipient
	Received   time.Time // when the spool accepted it
	Size       int64     // octets of the message
	// Submitter is the authenticated user who submitted it, if any.
	Submitter string `json:",omitempty"`
}

// Done reports whether every recipient is in a final state.
func (e *Envelope) Done() bool {
	for i := range e.Recipients {
		if e.Recipients[i].State == StatePending {
			return false
		}
	}
	return true
}

// Spool is durable storage for queued messages. The queue only accepts a
// message (and the submitting client only gets its 250) after Put returned,
// so a Spool must have the message and its envelope on stable storage
// before Put returns, and each Update before Update returns.
//
// Implementations must be safe for concurrent use. DirSpool, on disk, is the
// default.
type Spool interface {
	// Put stores a new message read from body with its envelope and returns
	// the ID it assigned (also set in env.ID).
	Put(ctx context.Context, env *Envelope, body io.Reader) (string, error)
	// Open returns the message bytes of id.
	Open(ctx context.Context, id string) (io.ReadCloser, error)
	// Update replaces the stored envelope of env.ID (delivery state).
	Update(ctx context.Context, env *Envelope) error
	// Remove deletes the message and its envelope.
	Remove(ctx context.Context, id string) error
	// List returns the envelopes of every queued message.
	List(ctx context.Context) ([]*Envelope, error)
}

package relay

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/posthorn/posthorn/smtp"
)

// Action is the Action field of a per-recipient DSN block (RFC 3464 §2.3.3).
type Action string

// DSN actions the relay reports.
const (
	ActionFailed    Action = "failed"
	ActionDelayed   Action = "delayed"
	ActionDelivered Action = "delivered"
)

// wantsNotice reports whether the recipient's NOTIFY parameter asks for a
// DSN of kind a (RFC 3461 §4.1). Without NOTIFY, failures are reported and
// delays too (the MTA's choice; RFC 3461 §4.1 allows it).
func wantsNotice(r *Recipient, a Action) bool {
	notify := r.Options.Notify
	if len(notify) == 0 {
		return a == ActionFailed || a == ActionDelayed
	}
	for _, n := range notify {
		switch {
		case n == smtp.DSNNotifyNever:
			return false
		case n == smtp.DSNNotifyFailure && a == ActionFailed,
			n == smtp.DSNNotifyDelay && a == ActionDelayed,
			n == smtp.DSNNotifySuccess && a == ActionDelivered:
			return true
		}
	}
	return false
}

// DSN describes a delivery status notification to write.
type DSN struct {
	ReportingMTA string      // our host name
	Envelope     *Envelope   // the original message's envelope
	Action       Action      // what happened to Recipients
	Recipients   []Recipient // the recipients reported on
	Date         time.Time   // zero → now
	RetryUntil   time.Time   // for ActionDelayed: when the relay gives up
	// MaxReturn caps the size of the original message returned in full;
	// a larger one is returned as headers only (RFC 3462 allows it).
	// Zero means 1 MiB.
	MaxReturn int64
}

// WriteDSN writes a multipart/report DSN message (RFC 3464, RFC 6522) for
// d into w, returning the original message read from original as RET asked:
// its headers (RET=HDRS) or the whole message (RET=FULL, or no RET, up to
// MaxReturn). For SMTPUTF8 mail it uses message/global-delivery-status and
// message/global (RFC 6533).
func WriteDSN(w io.Writer, d *DSN, original io.Reader) error {
	env := d.Envelope
	date := d.Date
	if date.IsZero() {
		date = time.Now()
	}
	maxReturn := d.MaxReturn
	if maxReturn == 0 {
		maxReturn = 1 << 20
	}
	var rnd [12]byte
	rand.Read(rnd[:])
	boundary := "=_posthorn_" + hex.EncodeToString(rnd[:])
	bw := bufio.NewWriter(w)

	subject := "Undelivered Mail Returned to Sender"
	switch d.Action {
	case ActionDelayed:
		subject = "Delayed Mail (still being retried)"
	case ActionDelivered:
		subject = "Successful Mail Delivery Report"
	}
	fmt.Fprintf(bw, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", d.ReportingMTA)
	fmt.Fprintf(bw, "To: <%s>\r\n", env.From)
	fmt.Fprintf(bw, "Subject: %s\r\n", subject)
	fmt.Fprintf(bw, "Date: %s\r\n", date.Format(time.RFC1123Z))
	fmt.Fprintf(bw, "Message-ID: <%s.dsn@%s>\r\n", hex.EncodeToString(rnd[:8]), d.ReportingMTA)
	bw.WriteString("Auto-Submitted: auto-replied\r\n") // RFC 3834 §5
	bw.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(bw, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	bw.WriteString("This is a MIME-encapsulated delivery status notification.\r\n")

	// Part 1: for people.
	fmt.Fprintf(bw, "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary)
	fmt.Fprintf(bw, "This is the mail system at host %s.\r\n\r\n", d.ReportingMTA)
	switch d.Action {
	case ActionFailed:
		bw.WriteString("Your message could not be delivered to one or more recipients.\r\nIt is attached below.\r\n\r\n")
	case ActionDelayed:
		fmt.Fprintf(bw, "Your message has not been delivered yet to one or more recipients.\r\nThe mail system will keep trying until %s.\r\nYou do not need to send it again.\r\n\r\n", d.RetryUntil.Format(time.RFC1123Z))
	case ActionDelivered:
		bw.WriteString("Your message was delivered to the recipients below.\r\n\r\n")
	}
	for i := range d.Recipients {
		r := &d.Recipients[i]
		fmt.Fprintf(bw, "<%s>: %s\r\n", r.Address, oneLine(orDefault(r.LastError, string(d.Action))))
	}

	// Part 2: for machines.
	utf8 := env.Mail.UTF8
	statusType := "message/delivery-status"
	if utf8 {
		statusType = "message/global-delivery-status"
	}
	fmt.Fprintf(bw, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", boundary, statusType)
	fmt.Fprintf(bw, "Reporting-MTA: dns; %s\r\n", d.ReportingMTA)
	if env.Mail.EnvelopeID != "" {
		fmt.Fprintf(bw, "Original-Envelope-Id: %s\r\n", oneLine(env.Mail.EnvelopeID))
	}
	if !env.Received.IsZero() {
		fmt.Fprintf(bw, "Arrival-Date: %s\r\n", env.Received.Format(time.RFC1123Z))
	}
	for i := range d.Recipients {
		r := &d.Recipients[i]
		bw.WriteString("\r\n")
		if o := r.Options.OriginalRecipient; o != nil {
			fmt.Fprintf(bw, "Original-Recipient: %s; %s\r\n", o.Type, oneLine(o.Address))
		}
		addrType := "rfc822"
		if utf8 && !isASCII(r.Address) {
			addrType = "utf-8"
		}
		fmt.Fprintf(bw, "Final-Recipient: %s; %s\r\n", addrType, r.Address)
		fmt.Fprintf(bw, "Action: %s\r\n", d.Action)
		fmt.Fprintf(bw, "Status: %s\r\n", statusFor(r, d.Action))
		if r.RemoteMTA != "" {
			fmt.Fprintf(bw, "Remote-MTA: dns; %s\r\n", r.RemoteMTA)
		}
		if r.LastError != "" && d.Action != ActionDelivered {
			fmt.Fprintf(bw, "Diagnostic-Code: %s; %s\r\n", diagType(r.LastError), oneLine(r.LastError))
		}
		if !r.LastAttempt.IsZero() {
			fmt.Fprintf(bw, "Last-Attempt-Date: %s\r\n", r.LastAttempt.Format(time.RFC1123Z))
		}
		if d.Action == ActionDelayed && !d.RetryUntil.IsZero() {
			fmt.Fprintf(bw, "Will-Retry-Until: %s\r\n", d.RetryUntil.Format(time.RFC1123Z))
		}
	}

	// Part 3: the original, as RET asked.
	headersOnly := env.Mail.Return == smtp.DSNReturnHeaders || env.Size > maxReturn || d.Action == ActionDelayed
	partType := map[[2]bool]string{
		{false, false}: "message/rfc822", {true, false}: "text/rfc822-headers",
		{false, true}: "message/global", {true, true}: "message/global-headers",
	}[[2]bool{headersOnly, utf8}]
	fmt.Fprintf(bw, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", boundary, partType)
	if original != nil {
		if err := copyOriginal(bw, original, headersOnly); err != nil {
			return fmt.Errorf("relay: dsn: %w", err)
		}
	}
	fmt.Fprintf(bw, "\r\n--%s--\r\n", boundary)
	return bw.Flush()
}

// copyOriginal copies the original message, or only its header section,
// ending with a CRLF.
func copyOriginal(w *bufio.Writer, r io.Reader, headersOnly bool) error {
	br := bufio.NewReader(r)
	var last byte = '\n'
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if headersOnly && (bytes.Equal(line, []byte("\r\n")) || bytes.Equal(line, []byte("\n"))) {
				return nil
			}
			w.Write(line)
			last = line[len(line)-1]
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if last != '\n' {
		w.WriteString("\r\n")
	}
	return nil
}

// statusFor picks the RFC 3463 status of a recipient's DSN block.
func statusFor(r *Recipient, a Action) string {
	if r.Status != "" {
		return r.Status
	}
	switch a {
	case ActionDelivered:
		return "2.0.0"
	case ActionDelayed:
		return "4.0.0"
	}
	return "5.0.0"
}

// diagType is "smtp" for a reply from a server (it starts with a reply
// code), "x-posthorn" for a local explanation.
func diagType(s string) string {
	if len(s) >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9' {
		return "smtp"
	}
	return "x-posthorn"
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, s)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

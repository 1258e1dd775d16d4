// Code generated from imap/internal/wire/decoder_date.go by a temporary shim; DO NOT EDIT.
// The server cannot import imap/internal/wire while wire imports imap
// (import cycle); this copy goes away when the cycle is resolved.

package imap

import (
	"strings"
	"time"
)

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func parseMonth(s string) (time.Month, bool) {
	for i, m := range months {
		if strings.EqualFold(m, s) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

// Date reads date = date-text / DQUOTE date-text DQUOTE, where
// date-text = date-day "-" date-month "-" date-year (RFC 9051 §9). The
// result is midnight UTC of that day.
func (d *wireDecoder) Date(t *time.Time) bool {
	quoted := d.accept('"')
	var day, year uint32
	var mon string
	if !d.Number(&day) {
		if quoted {
			return d.Fail("date")
		}
		return false
	}
	b := d.scan(&atomChar) // "-Mon-YYYY" is all ATOM-CHAR
	if !d.parseDateTail(string(b), &mon, &year) || day < 1 || day > 31 {
		return d.Fail("date")
	}
	if quoted && !d.ExpectSpecial('"') {
		return false
	}
	m, _ := parseMonth(mon)
	*t = time.Date(int(year), m, int(day), 0, 0, 0, 0, time.UTC)
	if t.Day() != int(day) {
		return d.Fail("valid date")
	}
	return true
}

// parseDateTail parses "-Mon-YYYY".
func (d *wireDecoder) parseDateTail(s string, mon *string, year *uint32) bool {
	if len(s) != 9 || s[0] != '-' || s[4] != '-' {
		return false
	}
	if _, ok := parseMonth(s[1:4]); !ok {
		return false
	}
	*mon = s[1:4]
	var y uint32
	for _, c := range []byte(s[5:]) {
		if c < '0' || c > '9' {
			return false
		}
		y = y*10 + uint32(c-'0')
	}
	*year = y
	return true
}

// ExpectDate reads a date or fails.
func (d *wireDecoder) ExpectDate(t *time.Time) bool { return d.Date(t) || d.Fail("date") }

// DateTime reads date-time = DQUOTE date-day-fixed "-" date-month "-"
// date-year SP time SP zone DQUOTE, e.g. "17-Jul-1996 02:44:25 -0700".
func (d *wireDecoder) DateTime(t *time.Time) bool {
	c, ok := d.peek()
	if !ok || c != '"' {
		return false
	}
	var s string
	if !d.Quoted(&s) {
		return false
	}
	// date-day-fixed is " 7" or "07"; accept "7" too.
	if len(s) > 0 && s[0] == ' ' {
		s = "0" + s[1:]
	} else if len(s) > 1 && s[1] == '-' {
		s = "0" + s
	}
	tm, err := time.Parse("02-Jan-2006 15:04:05 -0700", s)
	if err != nil || len(s) != 26 {
		return d.Fail("date-time")
	}
	*t = tm
	return true
}

// ExpectDateTime reads a date-time or fails.
func (d *wireDecoder) ExpectDateTime(t *time.Time) bool { return d.DateTime(t) || d.Fail("date-time") }

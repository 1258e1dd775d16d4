package mime

import (
	"strconv"
	"strings"
	"time"
)

var zones = map[string]int{
	"UT": 0, "GMT": 0, "Z": 0, "UTC": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

// ParseDate parses an RFC 5322 date-time leniently: optional day of
// week, obsolete two-digit years and zone names, optional seconds,
// comments. It reports false when no date can be read.
func ParseDate(s string) (time.Time, bool) {
	l := lexer{s: s}
	var words []string
	for len(words) < 12 {
		l.skipCFWS()
		if l.i >= len(l.s) {
			break
		}
		start := l.i
		for l.i < len(l.s) && l.s[l.i] != ' ' && l.s[l.i] != '\t' && l.s[l.i] != '(' && l.s[l.i] != ',' {
			l.i++
		}
		if l.i == start {
			l.i++ // ','
			continue
		}
		words = append(words, l.s[start:l.i])
	}
	if len(words) > 0 {
		if _, err := strconv.Atoi(words[0]); err != nil {
			words = words[1:] // day of week
		}
	}
	if len(words) < 4 {
		return time.Time{}, false
	}
	day, err := strconv.Atoi(words[0])
	if err != nil || day < 1 || day > 31 {
		return time.Time{}, false
	}
	mon, ok := parseMonthName(words[1])
	if !ok {
		return time.Time{}, false
	}
	year, err := strconv.Atoi(words[2])
	if err != nil || year < 0 {
		return time.Time{}, false
	}
	switch {
	case len(words[2]) <= 2 && year < 50:
		year += 2000
	case len(words[2]) <= 3:
		year += 1900
	}
	hms := strings.Split(words[3], ":")
	if len(hms) < 2 || len(hms) > 3 {
		return time.Time{}, false
	}
	var tv [3]int
	for i, f := range hms {
		if tv[i], err = strconv.Atoi(f); err != nil || tv[i] < 0 || tv[i] > 60 {
			return time.Time{}, false
		}
	}
	offset := 0
	if len(words) > 4 {
		z := words[4]
		if (z[0] == '+' || z[0] == '-') && len(z) == 5 {
			n, err := strconv.Atoi(z[1:])
			if err != nil {
				return time.Time{}, false
			}
			offset = (n/100*60 + n%100) * 60
			if z[0] == '-' {
				offset = -offset
			}
		} else if h, ok := zones[strings.ToUpper(z)]; ok {
			offset = h * 3600
		}
	}
	t := time.Date(year, mon, day, tv[0], tv[1], tv[2], 0, time.FixedZone("", offset))
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

func parseMonthName(s string) (time.Month, bool) {
	if len(s) < 3 {
		return 0, false
	}
	for m := time.January; m <= time.December; m++ {
		if strings.EqualFold(m.String()[:3], s[:3]) {
			return m, true
		}
	}
	return 0, false
}

package smtp

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the pure parsers of the command language (RFC 5321 §4.1),
// shared by the server (reading commands) and the client (checking what it
// is about to send). None of them touches a connection; each has a fuzz
// target in fuzz_test.go.

// Syntax errors with the reply codes RFC 5321 and RFC 3463 give them.
func errSyntax(msg string) *SyntaxError {
	return &SyntaxError{Code: 501, EnhancedCode: EnhancedCode{5, 5, 2}, Msg: msg}
}

func errBadParam(msg string) *SyntaxError {
	return &SyntaxError{Code: 501, EnhancedCode: EnhancedCode{5, 5, 4}, Msg: msg}
}

// maxPathLen is the longest reverse- or forward-path including the angle
// brackets (RFC 5321 §4.5.3.1.3).
const maxPathLen = 256

// maxDomainLen is the longest domain name (RFC 5321 §4.5.3.1.2).
const maxDomainLen = 255

// parseCommand splits a command line (without CRLF) into its verb, in
// upper case, and its argument, the text after the first space. The verb
// must be 1 to 16 ASCII letters or digits.
func parseCommand(line string) (verb, arg string, err error) {
	verb, arg, _ = strings.Cut(line, " ")
	if verb == "" || len(verb) > 16 {
		return "", "", &SyntaxError{Code: 500, EnhancedCode: EnhancedCode{5, 5, 2}, Msg: "Syntax error, command unrecognized"}
	}
	for i := 0; i < len(verb); i++ {
		c := verb[i]
		if !isAlnum(c) {
			return "", "", &SyntaxError{Code: 500, EnhancedCode: EnhancedCode{5, 5, 2}, Msg: "Syntax error, command unrecognized"}
		}
	}
	return strings.ToUpper(verb), arg, nil
}

// cutPrefixFold removes prefix from s, ignoring ASCII case.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// parseMailArg parses the argument of MAIL: "FROM:<reverse-path> [params]".
// It returns the address ("" for the null path <>), the parameter text and
// whether the address holds non-ASCII characters.
func parseMailArg(arg string) (from, params string, nonASCII bool, err error) {
	rest, ok := cutPrefixFold(arg, "FROM:")
	if !ok {
		return "", "", false, errSyntax("Syntax: MAIL FROM:<address>")
	}
	from, params, nonASCII, err = parsePath(strings.TrimLeft(rest, " "), true)
	if err != nil {
		err.(*SyntaxError).EnhancedCode = EnhancedCode{5, 1, 7}
	}
	return from, params, nonASCII, err
}

// parseRcptArg parses the argument of RCPT: "TO:<forward-path> [params]".
// "<postmaster>" without a domain is accepted (RFC 5321 §4.5.1).
func parseRcptArg(arg string) (to, params string, nonASCII bool, err error) {
	rest, ok := cutPrefixFold(arg, "TO:")
	if !ok {
		return "", "", false, errSyntax("Syntax: RCPT TO:<address>")
	}
	to, params, nonASCII, err = parsePath(strings.TrimLeft(rest, " "), false)
	if err != nil {
		err.(*SyntaxError).EnhancedCode = EnhancedCode{5, 1, 3}
	}
	return to, params, nonASCII, err
}

// parsePath parses a Path (RFC 5321 §4.1.2) at the start of s:
//
//	Path = "<" [ A-d-l ":" ] Mailbox ">"
//
// A source route (A-d-l) is checked and dropped (RFC 5321 §4.1.1.3). When
// reverse is set the null path "<>" is allowed and yields ""; otherwise
// "<postmaster>" (any case) is allowed without a domain. The result is the
// mailbox in its wire form (a quoted local part stays quoted). rest is what
// follows the path, with one separating space removed; nonASCII reports
// UTF-8 in the address, which needs SMTPUTF8 (RFC 6531).
func parsePath(s string, reverse bool) (addr, rest string, nonASCII bool, err error) {
	if !strings.HasPrefix(s, "<") {
		return "", "", false, errSyntax("Address must be enclosed in <>")
	}
	end := pathEnd(s)
	if end < 0 {
		return "", "", false, errSyntax("Missing > after address")
	}
	if end+1 > maxPathLen {
		return "", "", false, errSyntax("Path too long")
	}
	inner := s[1:end]
	rest = s[end+1:]
	if rest != "" {
		if rest[0] != ' ' {
			return "", "", false, errSyntax("Garbage after address")
		}
		rest = strings.TrimLeft(rest, " ")
	}
	if inner == "" {
		if !reverse {
			return "", "", false, errSyntax("Empty recipient address")
		}
		return "", rest, false, nil
	}
	if inner[0] == '@' {
		// Source route: "@a,@b:mailbox". Check each At-domain, drop it.
		route, mbox, ok := strings.Cut(inner, ":")
		if !ok {
			return "", "", false, errSyntax("Malformed source route")
		}
		for _, d := range strings.Split(route, ",") {
			if len(d) < 2 || d[0] != '@' || !isDomain(d[1:], false) {
				return "", "", false, errSyntax("Malformed source route")
			}
		}
		inner = mbox
	}
	if !reverse && strings.EqualFold(inner, "postmaster") {
		return inner, rest, false, nil
	}
	nonASCII, ok := checkMailbox(inner)
	if !ok {
		return "", "", false, errSyntax("Malformed address")
	}
	return inner, rest, nonASCII, nil
}

// pathEnd returns the index of the ">" closing the path that starts at
// s[0] == '<', skipping quoted strings, or -1.
func pathEnd(s string) int {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return i
		}
	}
	return -1
}

// checkMailbox validates Local-part "@" (Domain / address-literal) and
// reports whether it holds UTF-8 (RFC 6531 §3.3 allows it in atext,
// qtext and sub-domains).
func checkMailbox(m string) (nonASCII, ok bool) {
	at := strings.LastIndexByte(m, '@')
	if at <= 0 || at == len(m)-1 {
		return false, false
	}
	local, domain := m[:at], m[at+1:]
	if !utf8.ValidString(m) {
		return false, false
	}
	for i := 0; i < len(m); i++ {
		if m[i] >= 0x80 {
			nonASCII = true
			break
		}
	}
	if !isLocalPart(local) {
		return false, false
	}
	if domain[0] == '[' {
		return nonASCII, isAddressLiteral(domain)
	}
	return nonASCII, isDomain(domain, true)
}

// isLocalPart checks Dot-string / Quoted-string (RFC 5321 §4.1.2).
func isLocalPart(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '"' {
		if len(s) < 2 || s[len(s)-1] != '"' {
			return false
		}
		q := s[1 : len(s)-1]
		for i := 0; i < len(q); i++ {
			c := q[i]
			switch {
			case c == '\\':
				// quoted-pairSMTP = %d92 %d32-126
				i++
				if i >= len(q) || q[i] < 32 || q[i] > 126 {
					return false
				}
			case c == '"':
				return false
			case c == 32 || c == 33 || (c >= 35 && c <= 126) || c >= 0x80:
			default:
				return false
			}
		}
		return true
	}
	// Dot-string: atoms of atext separated by single dots.
	if s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case !isAtext(c):
			return false
		}
	}
	return true
}

// isAtext reports whether c is atext (RFC 5322 §3.2.3), extended with
// UTF-8 bytes (RFC 6531 §3.3).
func isAtext(c byte) bool {
	if isAlnum(c) || c >= 0x80 {
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// isDomain checks Domain = sub-domain *("." sub-domain), where a
// sub-domain is letters, digits and inner hyphens (RFC 5321 §4.1.2); with
// allowUTF8, U-labels of RFC 6531 are allowed too.
func isDomain(s string, allowUTF8 bool) bool {
	if s == "" || len(s) > maxDomainLen {
		return false
	}
	for s != "" {
		label := s
		if i := strings.IndexByte(s, '.'); i >= 0 {
			label, s = s[:i], s[i+1:]
			if s == "" {
				return false // trailing dot
			}
		} else {
			s = ""
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !isAlnum(c) && c != '-' && !(allowUTF8 && c >= 0x80) {
				return false
			}
		}
	}
	return true
}

// isAddressLiteral checks "[" (IPv4 / "IPv6:" IPv6 / tag ":" dcontent) "]"
// (RFC 5321 §4.1.3).
func isAddressLiteral(s string) bool {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	lit := s[1 : len(s)-1]
	if v6, ok := cutPrefixFold(lit, "IPv6:"); ok {
		a, err := netip.ParseAddr(v6)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	tag, content, ok := strings.Cut(lit, ":")
	if !ok {
		a, err := netip.ParseAddr(lit)
		return err == nil && a.Is4()
	}
	// General-address-literal = Standardized-tag ":" 1*dcontent
	if tag == "" || content == "" || tag[len(tag)-1] == '-' {
		return false
	}
	for i := 0; i < len(tag); i++ {
		if !isAlnum(tag[i]) && tag[i] != '-' {
			return false
		}
	}
	for i := 0; i < len(content); i++ {
		if c := content[i]; c < 33 || c > 126 || c == '[' || c == '\\' || c == ']' {
			return false
		}
	}
	return true
}

// param is one ESMTP parameter: keyword ["=" value].
type param struct {
	Key      string // upper case
	Value    string
	HasValue bool
}

// parseParams parses the ESMTP parameters after a path (RFC 5321 §4.1.2):
//
//	esmtp-param   = esmtp-keyword ["=" esmtp-value]
//	esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//	esmtp-value   = 1*(%d33-60 / %d62-126)   ; plus UTF-8, RFC 6531
//
// separated by one or more spaces. Keywords are returned in upper case.
func parseParams(s string) ([]param, error) {
	var params []param
	for _, f := range strings.Split(s, " ") {
		if f == "" {
			continue
		}
		key, value, hasValue := strings.Cut(f, "=")
		if key == "" || key[0] == '-' {
			return nil, errBadParam("Malformed parameter " + strconv.Quote(f))
		}
		for i := 0; i < len(key); i++ {
			if !isAlnum(key[i]) && key[i] != '-' {
				return nil, errBadParam("Malformed parameter " + strconv.Quote(f))
			}
		}
		if hasValue {
			if value == "" || !utf8.ValidString(value) {
				return nil, errBadParam("Malformed parameter " + strconv.Quote(f))
			}
			for i := 0; i < len(value); i++ {
				if c := value[i]; c < 33 || c == '=' || c == 127 {
					return nil, errBadParam("Malformed parameter " + strconv.Quote(f))
				}
			}
		}
		params = append(params, param{Key: strings.ToUpper(key), Value: value, HasValue: hasValue})
	}
	return params, nil
}

// parseMailParams turns the parameters of MAIL into MailOptions. Known
// keywords are checked; others land in Extra for the server to accept or
// refuse. A repeated keyword is an error.
func parseMailParams(s string) (*MailOptions, error) {
	params, err := parseParams(s)
	if err != nil {
		return nil, err
	}
	opts := &MailOptions{}
	seen := make(map[string]string, len(params))
	for _, p := range params {
		if v, ok := seen[p.Key]; ok {
			if v == p.Value {
				continue // an exact repeat is harmless (Python's smtplib sends SMTPUTF8 twice)
			}
			return nil, errBadParam("Duplicate parameter " + p.Key)
		}
		seen[p.Key] = p.Value
		switch p.Key {
		case "BODY":
			switch BodyType(strings.ToUpper(p.Value)) {
			case Body7Bit, Body8BitMIME, BodyBinaryMIME:
				opts.Body = BodyType(strings.ToUpper(p.Value))
			default:
				return nil, errBadParam("Unknown BODY type")
			}
		case "SIZE":
			n, err := strconv.ParseInt(p.Value, 10, 64)
			if err != nil || n < 0 || p.Value[0] == '+' {
				return nil, errBadParam("Malformed SIZE")
			}
			opts.Size = n
		case "SMTPUTF8":
			if p.HasValue {
				return nil, errBadParam("SMTPUTF8 takes no value")
			}
			opts.UTF8 = true
		case "REQUIRETLS":
			if p.HasValue {
				return nil, errBadParam("REQUIRETLS takes no value")
			}
			opts.RequireTLS = true
		case "RET":
			switch DSNReturn(strings.ToUpper(p.Value)) {
			case DSNReturnFull, DSNReturnHeaders:
				opts.Return = DSNReturn(strings.ToUpper(p.Value))
			default:
				return nil, errBadParam("RET must be FULL or HDRS")
			}
		case "ENVID":
			// RFC 3461 §4.4: at most 100 characters, printable ASCII.
			id, err := decodeXtext(p.Value)
			if err != nil || len(p.Value) > 100 || !isPrintableASCII(id) {
				return nil, errBadParam("Malformed ENVID")
			}
			opts.EnvelopeID = id
		case "AUTH":
			a, err := decodeXtext(p.Value)
			if err != nil || !p.HasValue {
				return nil, errBadParam("Malformed AUTH parameter")
			}
			opts.Auth = &a
		default:
			if opts.Extra == nil {
				opts.Extra = make(map[string]string)
			}
			opts.Extra[p.Key] = p.Value
		}
	}
	return opts, nil
}

// parseRcptParams turns the parameters of RCPT into RcptOptions.
func parseRcptParams(s string) (*RcptOptions, error) {
	params, err := parseParams(s)
	if err != nil {
		return nil, err
	}
	opts := &RcptOptions{}
	seen := make(map[string]bool, len(params))
	for _, p := range params {
		if seen[p.Key] {
			return nil, errBadParam("Duplicate parameter " + p.Key)
		}
		seen[p.Key] = true
		switch p.Key {
		case "NOTIFY":
			n, err := parseNotify(p.Value)
			if err != nil {
				return nil, err
			}
			opts.Notify = n
		case "ORCPT":
			// RFC 3461 §4.2: addr-type ";" xtext.
			typ, x, ok := strings.Cut(p.Value, ";")
			if !ok || !isAtomText(typ) {
				return nil, errBadParam("Malformed ORCPT")
			}
			var a string
			var err error
			if strings.EqualFold(typ, "utf-8") {
				a, err = decodeUTF8AddrXtext(x) // RFC 6533 §3
			} else {
				a, err = decodeXtext(x)
			}
			if err != nil || a == "" {
				return nil, errBadParam("Malformed ORCPT")
			}
			opts.OriginalRecipient = &OriginalRecipient{Type: typ, Address: a}
		default:
			if opts.Extra == nil {
				opts.Extra = make(map[string]string)
			}
			opts.Extra[p.Key] = p.Value
		}
	}
	return opts, nil
}

// parseNotify parses NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ).
func parseNotify(v string) ([]DSNNotify, error) {
	var out []DSNNotify
	for _, f := range strings.Split(strings.ToUpper(v), ",") {
		n := DSNNotify(f)
		switch n {
		case DSNNotifyNever, DSNNotifySuccess, DSNNotifyFailure, DSNNotifyDelay:
		default:
			return nil, errBadParam("Malformed NOTIFY")
		}
		for _, o := range out {
			if o == n {
				return nil, errBadParam("Malformed NOTIFY")
			}
		}
		out = append(out, n)
	}
	if len(out) > 1 {
		for _, n := range out {
			if n == DSNNotifyNever {
				return nil, errBadParam("NOTIFY=NEVER cannot be combined")
			}
		}
	}
	return out, nil
}

func isAtomText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtext(s[i]) || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 32 || s[i] > 126 {
			return false
		}
	}
	return true
}

// formatMailParams is the inverse of parseMailParams: the parameter text
// (with a leading space when not empty) for the given options. Extra
// parameters come last, sorted for a stable wire form.
func formatMailParams(o *MailOptions) string {
	if o == nil {
		return ""
	}
	var b strings.Builder
	if o.Body != "" {
		b.WriteString(" BODY=" + string(o.Body))
	}
	if o.Size > 0 {
		b.WriteString(" SIZE=" + strconv.FormatInt(o.Size, 10))
	}
	if o.UTF8 {
		b.WriteString(" SMTPUTF8")
	}
	if o.RequireTLS {
		b.WriteString(" REQUIRETLS")
	}
	if o.Return != "" {
		b.WriteString(" RET=" + string(o.Return))
	}
	if o.EnvelopeID != "" {
		b.WriteString(" ENVID=" + encodeXtext(o.EnvelopeID))
	}
	if o.Auth != nil {
		b.WriteString(" AUTH=" + encodeXtext(*o.Auth))
	}
	writeExtra(&b, o.Extra)
	return b.String()
}

// formatRcptParams is the inverse of parseRcptParams.
func formatRcptParams(o *RcptOptions) string {
	if o == nil {
		return ""
	}
	var b strings.Builder
	if len(o.Notify) > 0 {
		b.WriteString(" NOTIFY=")
		for i, n := range o.Notify {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(string(n))
		}
	}
	if or := o.OriginalRecipient; or != nil {
		enc := encodeXtext
		if strings.EqualFold(or.Type, "utf-8") {
			enc = encodeUTF8AddrXtext
		}
		b.WriteString(" ORCPT=" + or.Type + ";" + enc(or.Address))
	}
	writeExtra(&b, o.Extra)
	return b.String()
}

func writeExtra(b *strings.Builder, extra map[string]string) {
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteByte(' ')
		b.WriteString(k)
		if v := extra[k]; v != "" {
			b.WriteByte('=')
			b.WriteString(v)
		}
	}
}

const hexUpper = "0123456789ABCDEF"

// encodeXtext encodes s as xtext (RFC 3461 §4): bytes outside "!".."~",
// and "+" and "=", become "+" and two upper-case hex digits.
func encodeXtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '+' || c == '=' {
			b.WriteByte('+')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// decodeXtext decodes xtext (RFC 3461 §4). Lower-case hex digits are
// accepted; a "+" not followed by two hex digits, "=", and bytes outside
// "!".."~" are errors.
func decodeXtext(s string) (string, error) {
	if strings.IndexByte(s, '+') < 0 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 33 || c > 126 || c == '=' {
				return "", errBadParam("Malformed xtext")
			}
		}
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			if i+2 >= len(s) {
				return "", errBadParam("Malformed xtext")
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", errBadParam("Malformed xtext")
			}
			b = append(b, hi<<4|lo)
			i += 2
		case c < 33 || c > 126 || c == '=':
			return "", errBadParam("Malformed xtext")
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// isQChar reports whether c is QCHAR of RFC 6533 §3: printable ASCII but
// "+", "=" and "\\".
func isQChar(c byte) bool {
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\'
}

// encodeUTF8AddrXtext encodes s as utf-8-addr-xtext (RFC 6533 §3): QCHARs
// as they are, every other character as "\\x{HEX}". The result is ASCII.
// Invalid UTF-8 becomes U+FFFD.
func encodeUTF8AddrXtext(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && isQChar(byte(r)) {
			b.WriteByte(byte(r))
			continue
		}
		b.WriteString("\\x{")
		b.WriteString(strings.ToUpper(strconv.FormatInt(int64(r), 16)))
		b.WriteString("}")
	}
	return b.String()
}

// decodeUTF8AddrXtext decodes utf-8-addr-xtext or utf-8-addr-unitext (RFC
// 6533 §3): QCHARs, raw UTF-8 and "\\x{HEX}" escapes of 1 to 6 digits
// naming a Unicode scalar value.
func decodeUTF8AddrXtext(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			rest, ok := strings.CutPrefix(s[i:], "\\x{")
			end := strings.IndexByte(rest, '}')
			if !ok || end < 1 || end > 6 {
				return "", errBadParam("Malformed utf-8-addr-xtext")
			}
			var r rune
			for _, h := range []byte(rest[:end]) {
				v, ok := unhex(h)
				if !ok {
					return "", errBadParam("Malformed utf-8-addr-xtext")
				}
				r = r<<4 | rune(v)
			}
			if !utf8.ValidRune(r) {
				return "", errBadParam("Malformed utf-8-addr-xtext")
			}
			b.WriteRune(r)
			i += 3 + end + 1
		case c < 0x80:
			if !isQChar(c) {
				return "", errBadParam("Malformed utf-8-addr-xtext")
			}
			b.WriteByte(c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return "", errBadParam("Malformed utf-8-addr-xtext")
			}
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return b.String(), nil
}

package wire

const flagWildcard Flag = `\*`

// systemFlag returns the flag "\" + name for the system flags of
// RFC 9051 §2.3.2 spelt as the RFC spells them, without allocating: a
// server sends them on every FETCH FLAGS. Other spellings and other
// names are left to the caller.
func systemFlag(name []byte) (Flag, bool) {
	switch string(name) {
	case "Seen":
		return `\Seen`, true
	case "Answered":
		return `\Answered`, true
	case "Flagged":
		return `\Flagged`, true
	case "Deleted":
		return `\Deleted`, true
	case "Draft":
		return `\Draft`, true
	case "Recent":
		return `\Recent`, true
	}
	return "", false
}

// commonKeyword returns the keywords of the IANA IMAP keyword registry
// (RFC 5788) that mail clients set on many messages, without allocating.
func commonKeyword(name []byte) (Flag, bool) {
	switch string(name) {
	case "$Forwarded":
		return "$Forwarded", true
	case "$MDNSent":
		return "$MDNSent", true
	case "$Junk":
		return "$Junk", true
	case "$NotJunk":
		return "$NotJunk", true
	case "$Phishing":
		return "$Phishing", true
	case "$Important":
		return "$Important", true
	case "NonJunk":
		return "NonJunk", true
	}
	return "", false
}

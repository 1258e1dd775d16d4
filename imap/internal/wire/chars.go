package wire

// Character classes of RFC 9051 §9.
var (
	atomChar    [256]bool // ATOM-CHAR
	astringChar [256]bool // ASTRING-CHAR = ATOM-CHAR / resp-specials
	tagChar     [256]bool // ASTRING-CHAR except "+"
	listChar    [256]bool // list-char = ATOM-CHAR / list-wildcards / resp-specials
	digit       [256]bool
	seqSetChar  [256]bool // digits, ":", ",", "*", "$"
	textChar    [256]bool // TEXT-CHAR plus 8-bit (lenient): anything but CR, LF, NUL
	tokenChar   [256]bool // generic s-expression token: not SP ( ) " { [ CR LF NUL
	sectionChar [256]bool // section-part/section-text: digits, letters, "."
	quotedChar  [256]bool // inside a quoted string, unescaped: not " \ CR LF NUL
)

func init() {
	for c := 0x01; c < 0x80; c++ {
		switch {
		case c < 0x20 || c == 0x7f:
		case c == '(' || c == ')' || c == '{' || c == ' ' || c == '%' || c == '*' || c == '"' || c == '\\' || c == ']':
		default:
			atomChar[c] = true
		}
	}
	astringChar = atomChar
	astringChar[']'] = true
	tagChar = astringChar
	tagChar['+'] = false
	listChar = astringChar
	listChar['%'] = true
	listChar['*'] = true
	for c := '0'; c <= '9'; c++ {
		digit[c] = true
		seqSetChar[c] = true
		sectionChar[c] = true
	}
	for _, c := range ":,*$" {
		seqSetChar[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		sectionChar[c] = true
		sectionChar[c+'a'-'A'] = true
	}
	sectionChar['.'] = true
	for c := 1; c < 256; c++ {
		textChar[c] = c != '\r' && c != '\n'
		tokenChar[c] = textChar[c] && c != ' ' && c != '(' && c != ')' && c != '"' && c != '{' && c != '['
	}
	tokenChar['\\'] = true
	quotedChar = textChar
	quotedChar['"'] = false
	quotedChar['\\'] = false
}

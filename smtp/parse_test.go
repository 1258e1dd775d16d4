package smtp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line, verb, arg string
		ok              bool
	}{
		{"EHLO client.example", "EHLO", "client.example", true},
		{"mail FROM:<a@b>", "MAIL", "FROM:<a@b>", true},
		{"QUIT", "QUIT", "", true},
		{"", "", "", false},
		{" NOOP", "", "", false},
		{"NO-OP", "", "", false},
		{"ABCDEFGHIJKLMNOPQ x", "", "", false},
	} {
		verb, arg, err := parseCommand(tc.line)
		if !tc.ok {
			assert.Error(t, err, tc.line)
			continue
		}
		require.NoError(t, err, tc.line)
		assert.Equal(t, tc.verb, verb)
		assert.Equal(t, tc.arg, arg)
	}
}

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in       string
		reverse  bool
		addr     string
		rest     string
		nonASCII bool
		ok       bool
	}{
		{"<a@example.com>", false, "a@example.com", "", false, true},
		{"<a@example.com> SIZE=10", false, "a@example.com", "SIZE=10", false, true},
		{"<>", true, "", "", false, true},
		{"<>", false, "", "", false, false},
		{"<Postmaster>", false, "Postmaster", "", false, true},
		{"<postmaster>", true, "", "", false, false},
		{"<@relay.example,@b.example:joe@c.example>", false, "joe@c.example", "", false, true},
		{"<@relay.example:joe>", false, "", "", false, false},
		{`<"john doe"@example.com>`, false, `"john doe"@example.com`, "", false, true},
		{`<"a\"b>c"@example.com>`, false, `"a\"b>c"@example.com`, "", false, true},
		{"<joe@[192.0.2.1]>", false, "joe@[192.0.2.1]", "", false, true},
		{"<joe@[IPv6:2001:db8::1]>", false, "joe@[IPv6:2001:db8::1]", "", false, true},
		{"<joe@[300.0.2.1]>", false, "", "", false, false},
		{"<joe@[x-tag:abc]>", false, "joe@[x-tag:abc]", "", false, true},
		{"<jörg@bücher.example>", false, "jörg@bücher.example", "", true, true},
		{"<a..b@example.com>", false, "", "", false, false},
		{"<.a@example.com>", false, "", "", false, false},
		{"<a@-example.com>", false, "", "", false, false},
		{"<a@example..com>", false, "", "", false, false},
		{"<a@>", false, "", "", false, false},
		{"<@example.com>", false, "", "", false, false},
		{"a@example.com", false, "", "", false, false},
		{"<a@example.com", false, "", "", false, false},
		{"<a@example.com>x", false, "", "", false, false},
		{"<a b@example.com>", false, "", "", false, false},
		{"<a@exa_mple.com>", false, "", "", false, false},
		{"<\xff@example.com>", false, "", "", false, false},
	} {
		addr, rest, nonASCII, err := parsePath(tc.in, tc.reverse)
		if !tc.ok {
			assert.Error(t, err, tc.in)
			continue
		}
		if assert.NoError(t, err, tc.in) {
			assert.Equal(t, tc.addr, addr, tc.in)
			assert.Equal(t, tc.rest, rest, tc.in)
			assert.Equal(t, tc.nonASCII, nonASCII, tc.in)
		}
	}
}

func TestParsePathLength(t *testing.T) {
	local := make([]byte, 64)
	for i := range local {
		local[i] = 'a'
	}
	domain := ""
	for len(domain) < 180 {
		domain += "abcdefghi."
	}
	domain += "com"
	ok := "<" + string(local) + "@" + domain + ">"
	require.LessOrEqual(t, len(ok), maxPathLen)
	_, _, _, err := parsePath(ok, false)
	require.NoError(t, err)
	long := "<" + string(local) + "@" + domain + "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.com>"
	_, _, _, err = parsePath(long, false)
	require.Error(t, err)
}

func TestParseMailArg(t *testing.T) {
	from, params, _, err := parseMailArg("FROM: <a@b.example> BODY=8BITMIME")
	require.NoError(t, err)
	assert.Equal(t, "a@b.example", from)
	assert.Equal(t, "BODY=8BITMIME", params)
	_, _, _, err = parseMailArg("TO:<a@b.example>")
	assert.Error(t, err)
	_, _, _, err = parseMailArg("FROM:<a@@b>")
	var se *SyntaxError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, EnhancedCode{5, 1, 7}, se.EnhancedCode)
	_, _, _, err = parseRcptArg("TO:<a@@b>")
	require.ErrorAs(t, err, &se)
	assert.Equal(t, EnhancedCode{5, 1, 3}, se.EnhancedCode)
}

func TestParseMailParams(t *testing.T) {
	opts, err := parseMailParams("body=8bitmime SIZE=12345678901 SMTPUTF8 REQUIRETLS RET=HDRS ENVID=QQ+2B1 AUTH=<> XFOO=bar XBAZ")
	require.NoError(t, err)
	auth := "<>"
	assert.Equal(t, &MailOptions{
		Body: Body8BitMIME, Size: 12345678901, UTF8: true, RequireTLS: true,
		Return: DSNReturnHeaders, EnvelopeID: "QQ+1", Auth: &auth,
		Extra: map[string]string{"XFOO": "bar", "XBAZ": ""},
	}, opts)

	// An exact repeat is tolerated; a conflicting one is not.
	opts, err = parseMailParams("SMTPUTF8 BODY=8BITMIME SMTPUTF8")
	require.NoError(t, err)
	assert.True(t, opts.UTF8)

	for _, bad := range []string{
		"BODY=9BIT", "SIZE=-1", "SIZE=abc", "SIZE=+5", "SIZE=99999999999999999999", "SMTPUTF8=yes",
		"RET=ALL", "ENVID=a+ZZ", "SIZE=1 SIZE=2", "=x", "-X=1", "X=", "X=a=b", "B\x01DY=x",
	} {
		_, err := parseMailParams(bad)
		assert.Error(t, err, bad)
	}
}

func TestParseRcptParams(t *testing.T) {
	opts, err := parseRcptParams("NOTIFY=success,FAILURE ORCPT=rfc822;joe+40example.com")
	require.NoError(t, err)
	assert.Equal(t, []DSNNotify{DSNNotifySuccess, DSNNotifyFailure}, opts.Notify)
	assert.Equal(t, &OriginalRecipient{Type: "rfc822", Address: "joe@example.com"}, opts.OriginalRecipient)

	opts, err = parseRcptParams("ORCPT=UTF-8;j\\x{F6}rg@b\xc3\xbccher.example")
	require.NoError(t, err)
	assert.Equal(t, &OriginalRecipient{Type: "UTF-8", Address: "jörg@bücher.example"}, opts.OriginalRecipient)
	assert.Equal(t, " ORCPT=UTF-8;j\\x{F6}rg@b\\x{FC}cher.example", formatRcptParams(opts))

	for _, bad := range []string{"ORCPT=utf-8;a\\x{}b", "ORCPT=utf-8;a\\x{D800}", "ORCPT=utf-8;a+b", "ORCPT=utf-8;\xff", "ORCPT=utf-8;a\\x{1234567}", "NOTIFY=NEVER,SUCCESS", "NOTIFY=SOMETIMES", "NOTIFY=DELAY,DELAY", "ORCPT=joe", "ORCPT=;x", "ORCPT=rfc822;", "NOTIFY=NEVER NOTIFY=NEVER"} {
		_, err := parseRcptParams(bad)
		assert.Error(t, err, bad)
	}
}

func TestFormatParamsRoundTrip(t *testing.T) {
	auth := "sub mitter@example.com"
	m := &MailOptions{Body: BodyBinaryMIME, Size: 42, UTF8: true, Return: DSNReturnFull, EnvelopeID: "id=1 +x", Auth: &auth, Extra: map[string]string{"XA": "1", "XB": ""}}
	s := formatMailParams(m)
	assert.Equal(t, " BODY=BINARYMIME SIZE=42 SMTPUTF8 RET=FULL ENVID=id+3D1+20+2Bx AUTH=sub+20mitter@example.com XA=1 XB", s)
	got, err := parseMailParams(s)
	require.NoError(t, err)
	assert.Equal(t, m, got)

	r := &RcptOptions{Notify: []DSNNotify{DSNNotifyDelay}, OriginalRecipient: &OriginalRecipient{Type: "rfc822", Address: "a+b@example.com"}}
	rs := formatRcptParams(r)
	assert.Equal(t, " NOTIFY=DELAY ORCPT=rfc822;a+2Bb@example.com", rs)
	gotR, err := parseRcptParams(rs)
	require.NoError(t, err)
	assert.Equal(t, r, gotR)
}

func TestXtext(t *testing.T) {
	assert.Equal(t, "a+2Bb+3Dc+20+0D", encodeXtext("a+b=c \r"))
	d, err := decodeXtext("a+2bb")
	require.NoError(t, err)
	assert.Equal(t, "a+b", d)
	for _, bad := range []string{"a+", "a+2", "a+GG", "a=b", "a b"} {
		_, err := decodeXtext(bad)
		assert.Error(t, err, bad)
	}
}

func TestEnhancedCode(t *testing.T) {
	c, err := ParseEnhancedCode("5.1.1")
	require.NoError(t, err)
	assert.Equal(t, EnhancedCode{5, 1, 1}, c)
	assert.Equal(t, "5.1.1", c.String())
	for _, bad := range []string{"", "5.1", "3.1.1", "5.01.1", "5.1.1000", "5.a.1", "5..1"} {
		_, err := ParseEnhancedCode(bad)
		assert.Error(t, err, bad)
	}
}

func TestErrorReply(t *testing.T) {
	e := &Error{Code: 550, EnhancedCode: EnhancedCode{5, 1, 1}, Message: "No such user"}
	assert.Equal(t, "550 5.1.1 No such user\r\n", string(e.appendReply(nil)))
	assert.Equal(t, "smtp: 550 5.1.1 No such user", e.Error())
	assert.True(t, e.Permanent())
	assert.False(t, e.Temporary())

	e = &Error{Code: 451, Message: "try\nlater"}
	assert.Equal(t, "451-4.0.0 try\r\n451 4.0.0 later\r\n", string(e.appendReply(nil)))
	assert.True(t, e.Temporary())

	e = &Error{Code: 550, EnhancedCode: EnhancedCode{5, 1, 1}, Message: "bad\r\n250 injected\x00\r"}
	assert.Equal(t, "550-5.1.1 bad\r\n550 5.1.1 250 injected \r\n", string(e.appendReply(nil)))
	e = &Error{Code: 354, Message: "go ahead"}
	assert.Equal(t, "354 go ahead\r\n", string(e.appendReply(nil)))
	e = &Error{Code: 220, EnhancedCode: NoEnhancedCode, Message: "mx ESMTP"}
	assert.Equal(t, "220 mx ESMTP\r\n", string(e.appendReply(nil)))
}

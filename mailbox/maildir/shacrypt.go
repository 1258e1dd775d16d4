package maildir

import (
	"crypto/sha512"
	"errors"
	"strconv"
	"strings"
)

// sha512Crypt computes the SHA-512 crypt(3) hash ("$6$", Ulrich Drepper's
// "Unix crypt using SHA-256 and SHA-512" specification) of password with
// the salt and rounds of setting ("$6$[rounds=N$]salt[$hash]").
func sha512Crypt(password []byte, setting string) (string, error) {
	rest, ok := strings.CutPrefix(setting, "$6$")
	if !ok {
		return "", errors.New("maildir: not a $6$ hash")
	}
	rounds, custom := 5000, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		i := strings.IndexByte(r, '$')
		if i < 0 {
			return "", errors.New("maildir: bad rounds in $6$ hash")
		}
		n, err := strconv.Atoi(r[:i])
		if err != nil {
			return "", errors.New("maildir: bad rounds in $6$ hash")
		}
		rounds, custom, rest = min(max(n, 1000), 999999999), true, r[i+1:]
	}
	salt := rest
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 16 {
		salt = salt[:16]
	}
	// Digest B.
	b := sha512.New()
	b.Write(password)
	b.Write([]byte(salt))
	b.Write(password)
	sumB := b.Sum(nil)
	// Digest A.
	a := sha512.New()
	a.Write(password)
	a.Write([]byte(salt))
	n := len(password)
	for ; n > 64; n -= 64 {
		a.Write(sumB)
	}
	a.Write(sumB[:n])
	for n := len(password); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(password)
		}
	}
	sumA := a.Sum(nil)
	// Digest DP and the byte sequence P.
	dp := sha512.New()
	for range len(password) {
		dp.Write(password)
	}
	sumDP := dp.Sum(nil)
	p := make([]byte, 0, len(password))
	for n := len(password); n > 0; n -= 64 {
		p = append(p, sumDP[:min(n, 64)]...)
	}
	// Digest DS and the byte sequence S.
	ds := sha512.New()
	for range 16 + int(sumA[0]) {
		ds.Write([]byte(salt))
	}
	sumDS := ds.Sum(nil)
	s := sumDS[:len(salt)]
	// Rounds.
	c := sumA
	h := sha512.New()
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(p)
		}
		c = h.Sum(c[:0])
	}
	var out strings.Builder
	out.WriteString("$6$")
	if custom {
		out.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	out.WriteString(salt)
	out.WriteByte('$')
	const alpha = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for ; n > 0; n-- {
			out.WriteByte(alpha[w&0x3f])
			w >>= 6
		}
	}
	order := [...][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26},
		{6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54},
		{34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
		{62, 20, 41}}
	for _, o := range order {
		enc(c[o[0]], c[o[1]], c[o[2]], 4)
	}
	enc(0, 0, c[63], 2)
	return out.String(), nil
}

package maildir

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/posthorn/posthorn/mailbox"
)

func TestSHA512Crypt(t *testing.T) {
	// Reference values from `openssl passwd -6`.
	for _, tc := range []struct{ pass, hash string }{
		{"Hello world!", "$6$saltsaltsalt$tkbLZz7Hck/vcrBc30bv/5J/1xR2fqjVgMpauCGvIigQGVNK.Hlcie4EHK4STimwRJaotjZJQZagaP9iPBIa//"},
		{"Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
	} {
		got, err := sha512Crypt([]byte(tc.pass), tc.hash)
		require.NoError(t, err)
		assert.Equal(t, tc.hash, got)
	}
	_, err := sha512Crypt([]byte("x"), "$5$salt$abc")
	assert.Error(t, err)
}

func TestPasswdFile(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("blowfish"), bcrypt.MinCost)
	require.NoError(t, err)
	y := "$2y$" + strings.TrimPrefix(string(bc), "$2a$") // Dovecot writes $2y$
	file := strings.Join([]string{
		"# users",
		"",
		"plain:{PLAIN}clear::::::",
		"sha:{SHA512-CRYPT}$6$saltsaltsalt$tkbLZz7Hck/vcrBc30bv/5J/1xR2fqjVgMpauCGvIigQGVNK.Hlcie4EHK4STimwRJaotjZJQZagaP9iPBIa//:1000:1000::/home/sha::",
		"blf:{BLF-CRYPT}" + y,
		"jim@example.org:{plain}jimpw",
	}, "\n")
	u, err := ParsePasswd(strings.NewReader(file))
	require.NoError(t, err)
	ctx := context.Background()
	for _, tc := range []struct{ login, pass, user string }{
		{"plain", "clear", "plain"},
		{"sha", "Hello world!", "sha"},
		{"blf", "blowfish", "blf"},
		{"jim@example.org", "jimpw", "jim@example.org"},
		{"JIM@example.org", "jimpw", "jim@example.org"},
	} {
		got, err := u.Authenticate(ctx, tc.login, tc.pass)
		if assert.NoError(t, err, tc.login) {
			assert.Equal(t, tc.user, got)
		}
		_, err = u.Authenticate(ctx, tc.login, tc.pass+"x")
		assert.ErrorIs(t, err, mailbox.ErrAuthFailed, tc.login)
	}
	_, err = u.Authenticate(ctx, "nobody", "")
	assert.ErrorIs(t, err, mailbox.ErrAuthFailed)
	got, err := u.LookupRecipient(ctx, "Jim@Example.ORG")
	require.NoError(t, err)
	assert.Equal(t, "jim@example.org", got)
	_, err = u.LookupRecipient(ctx, "plain@example.org")
	assert.ErrorIs(t, err, mailbox.ErrNotExist)

	for _, bad := range []string{"nopassword", "x:{MD5}abc", "x:{PLAIN", "../x:{PLAIN}a", "y:nohashprefix"} {
		_, err := ParsePasswd(strings.NewReader(bad))
		assert.Error(t, err, bad)
	}
}

// TestStoreUsers: Store.Open creates the tree of a user the directory
// knows, and refuses others; Authenticate goes through Users.
func TestStoreUsers(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	_, err := s.Open(ctx, "nobody")
	assert.ErrorIs(t, err, mailbox.ErrNotExist)
	user, err := s.Authenticate(ctx, "alice", "secret")
	require.NoError(t, err)
	a, err := s.Open(ctx, user)
	require.NoError(t, err)
	a.Close()

	bare := &Store{Root: t.TempDir(), PollInterval: -1}
	_, err = bare.Authenticate(ctx, "alice", "secret")
	assert.ErrorIs(t, err, mailbox.ErrAuthFailed)
	_, err = bare.LookupRecipient(ctx, "carol@example.org")
	assert.ErrorIs(t, err, mailbox.ErrNotExist)
	require.NoError(t, bare.CreateUser(ctx, "carol"))
	got, err := bare.LookupRecipient(ctx, "carol@example.org")
	require.NoError(t, err)
	assert.Equal(t, "carol", got)
}

func FuzzParsePasswd(f *testing.F) {
	f.Add("u:{PLAIN}p", "user", "pw")
	f.Add("# c\nsha:{SHA512-CRYPT}$6$s$x\n", "a@b", "")
	f.Add("x:{BLF-CRYPT}$2y$04$abc", "x", "p:w")
	f.Fuzz(func(t *testing.T, file, user, pass string) {
		ParsePasswd(strings.NewReader(file)) // arbitrary input: errors, never panics
		// A PLAIN line round-trips: the user logs in with that password.
		if strings.ContainsAny(user+pass, ":\r\n") || strings.HasPrefix(user, "#") || strings.TrimSpace(user) == "" {
			return
		}
		u, err := ParsePasswd(strings.NewReader(user + ":{PLAIN}" + pass + "\n"))
		if validUser(user) != nil {
			if err == nil {
				t.Fatalf("user %q accepted", user)
			}
			return
		}
		if err != nil {
			t.Fatalf("line for %q: %v", user, err)
		}
		if got, err := u.Authenticate(context.Background(), user, pass); err != nil || got != user {
			t.Fatalf("Authenticate(%q, %q) = %q, %v", user, pass, got, err)
		}
	})
}

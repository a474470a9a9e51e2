package password_test

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// currentPrefix is how a hash made with the cheap test parameters begins.
const currentPrefix = "$argon2id$v=19$m=64,t=1,p=1$"

// syncBuffer is a log destination safe for the handler's concurrent writes.
type syncBuffer = syncbuf.Buffer

// withHash stores one user, Iago, with the stored hash as it is, and returns
// an Authenticator with the cheap parameters over the store, logging to the
// returned buffer. opts come after the defaults, so they win.
func withHash(t *testing.T, hash string, opts ...password.Option) (*memstore.Store, *password.Authenticator, zulipauth.User, *syncBuffer) {
	t.Helper()
	store := memstore.New()
	logs := &syncBuffer{}
	// Failures are not padded (TestFailureTime is about that): these tests
	// check what verifies.
	opts = append([]password.Option{password.WithParams(cheap), password.WithLogger(slog.New(slog.NewTextHandler(logs, nil))), password.WithInsecureFastFailures()}, opts...)
	a, err := password.New(store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(ctx, zulipauth.NewUser{Email: "Iago@zulip.com", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return store, a, u, logs
}

func storedHash(t *testing.T, store *memstore.Store) string {
	t.Helper()
	u, err := store.UserByEmail(ctx, "", "Iago@zulip.com")
	if err != nil {
		t.Fatal(err)
	}
	return u.PasswordHash
}

// Each hash another system made verifies, is refused for a wrong password
// without being touched, and is replaced by the current argon2id on the first
// correct login, after which the password still works.
func TestLegacyHashIsVerifiedAndUpgraded(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			store, a, u, logs := withHash(t, v.hash)
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "x"+v.password)); !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("wrong password: %v, want ErrBadCredentials", err)
			}
			if got := storedHash(t, store); got != v.hash {
				t.Fatal("a wrong password changed the stored hash")
			}
			got, err := a.Authenticate(ctx, attempt("iago@zulip.com", v.password))
			if err != nil || got.ID != u.ID {
				t.Fatalf("right password: %v, %v", got, err)
			}
			upgraded := storedHash(t, store)
			if !strings.HasPrefix(upgraded, currentPrefix) {
				t.Fatalf("not upgraded to the current argon2id: begins %.30q", upgraded)
			}
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", v.password)); err != nil {
				t.Fatalf("login with the upgraded hash: %v", err)
			}
			if storedHash(t, store) != upgraded {
				t.Fatal("a current hash was upgraded again")
			}
			if logs.String() != "" {
				t.Fatalf("a usable hash was logged about: %s", logs)
			}
		})
	}
}

// WithFormats decides which legacy formats verify: a hash in a format left
// out fails like a corrupt one, and the warning names the format, not the
// hash. Each vector is refused when only the other formats are accepted,
// which also pins that the vectors' formats are what the decoder sees.
func TestWithFormats(t *testing.T) {
	t.Parallel()
	all := []password.Format{password.FormatDjangoArgon2, password.FormatDjangoPBKDF2SHA256, password.FormatDjangoBcryptSHA256, password.FormatBcrypt}
	for _, v := range vectors {
		if v.format == password.FormatArgon2id {
			continue // always accepted; see TestArgon2idAlwaysAccepted
		}
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			var others []password.Format
			for _, f := range all {
				if f != v.format {
					others = append(others, f)
				}
			}
			store, a, _, logs := withHash(t, v.hash, password.WithFormats(others...))
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", v.password)); !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("format left out: %v, want ErrBadCredentials", err)
			}
			if storedHash(t, store) != v.hash {
				t.Fatal("a refused hash was changed")
			}
			log := logs.String()
			if !strings.Contains(log, "unusable stored password hash") || !strings.Contains(log, string(v.format)) {
				t.Errorf("log does not name the refused format: %s", log)
			}
			assertNoSecret(t, log, v.hash, v.password)

			_, only, _, _ := withHash(t, v.hash, password.WithFormats(v.format))
			if _, err := only.Authenticate(ctx, attempt("Iago@zulip.com", v.password)); err != nil {
				t.Fatalf("the format itself accepted: %v", err)
			}
		})
	}
}

// The current format cannot be switched off: every upgrade writes it.
func TestArgon2idAlwaysAccepted(t *testing.T) {
	t.Parallel()
	for _, v := range vectors {
		if v.format != password.FormatArgon2id {
			continue
		}
		_, a, _, _ := withHash(t, v.hash, password.WithFormats())
		if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", v.password)); err != nil {
			t.Errorf("%s with WithFormats(): %v", v.name, err)
		}
	}
}

func TestWithFormatsRejectsUnknown(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		f    password.Format
	}{
		{"empty", ""},
		{"misspelt", "django_pbkdf2"},
		{"a prefix rather than a name", "pbkdf2_sha256"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := password.New(memstore.New(), password.WithFormats(password.FormatBcrypt, tt.f)); err == nil {
				t.Fatalf("WithFormats(%q) accepted", tt.f)
			}
		})
	}
}

// Zulip's PasswordTooWeakError: a legacy hash is due for an upgrade, and a
// correct password that today's policy refuses must be reset rather than
// rehashed, as for argon2id with older parameters.
func TestLegacyHashWithWeakPasswordNeedsReset(t *testing.T) {
	t.Parallel()
	for _, v := range vectors[1:] { // the first has Django's costly parameters
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			store, a, _, _ := withHash(t, v.hash, password.WithPolicy(password.MinLength(1000)))
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", v.password)); !errors.Is(err, zulipauth.ErrPasswordResetRequired) {
				t.Fatalf("got %v, want ErrPasswordResetRequired", err)
			}
			if storedHash(t, store) != v.hash {
				t.Fatal("the weak password's hash was upgraded")
			}
		})
	}
}

// A store without PasswordHashUpdater keeps its legacy hashes, which keep
// working.
func TestLegacyHashWithoutUpdater(t *testing.T) {
	t.Parallel()
	for _, v := range vectors[1:] {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			store, _, _, _ := withHash(t, v.hash)
			a, err := password.New(readOnly{store}, password.WithParams(cheap))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", v.password)); err != nil {
					t.Fatal(err)
				}
			}
			if storedHash(t, store) != v.hash {
				t.Fatal("hash changed through a store without PasswordHashUpdater")
			}
		})
	}
}

// bcrypt uses the first 72 bytes of a password; Django's bcrypt_sha256
// exists to keep the rest. Both behaviours are the other systems' own, so a
// migrated user logs in exactly as before.
func TestBcryptLongPasswords(t *testing.T) {
	t.Parallel()
	find := func(name string) vector {
		for _, v := range vectors {
			if v.name == name {
				return v
			}
		}
		t.Fatalf("no vector %s", name)
		return vector{}
	}
	tests := []struct {
		name     string
		v        vector
		password string
		want     error
	}{
		{"bcrypt ignores bytes past 72", find("bcryptLong"), find("bcryptLong").password[:72] + "anything else", nil},
		{"bcrypt uses all of the first 72", find("bcryptLong"), find("bcryptLong").password[:71], zulipauth.ErrBadCredentials},
		{"bcrypt_sha256 keeps bytes past 72", find("djangoBcryptSHA256Long"), find("djangoBcryptSHA256Long").password[:72] + "anything else", zulipauth.ErrBadCredentials},
		{"bcrypt_sha256 whole password", find("djangoBcryptSHA256Long"), find("djangoBcryptSHA256Long").password, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if len(tt.v.password) <= 72 {
				t.Fatalf("vector %s is not longer than 72 bytes", tt.v.name)
			}
			_, a, _, _ := withHash(t, tt.v.hash)
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", tt.password)); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// A stored value that this package cannot use, however it is broken, is a
// failed login (never a panic, never unbounded work: the decoder refuses the
// parameters before anything runs), logged as an unusable hash without the
// hash. "" and Django's unusable password are accounts without a password,
// not faults: they fail without a warning.
func TestUnusableStoredHash(t *testing.T) {
	t.Parallel()
	for _, tt := range badHashes(t) {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store, a, _, logs := withHash(t, tt.hash)
			if _, err := a.Authenticate(ctx, attempt("Iago@zulip.com", "correct horse battery staple")); !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("got %v, want ErrBadCredentials", err)
			}
			if storedHash(t, store) != tt.hash {
				t.Fatal("an unusable hash was changed")
			}
			log := logs.String()
			if warned := strings.Contains(log, "unusable stored password hash"); warned != !tt.noPassword {
				t.Errorf("warned = %v, want %v: %s", warned, !tt.noPassword, log)
			}
			assertNoSecret(t, log, tt.hash, "correct horse battery staple")
		})
	}
}

type badHash struct {
	name       string
	hash       string
	noPassword bool   // "" or Django's unusable: no warning, CheckHash accepts
	reason     string // what CheckHash's error says
}

// badHashes are stored values that cannot verify, each with what CheckHash
// says about it: truncated, non-base64 and over-long encodings, absurd
// parameters and unknown prefixes, built from the real vectors so that only
// the named defect is wrong.
func badHashes(t *testing.T) []badHash {
	t.Helper()
	byFormat := map[password.Format]string{}
	for _, v := range vectors[1:] {
		if _, ok := byFormat[v.format]; !ok {
			byFormat[v.format] = v.hash
		}
	}
	argon2id := byFormat[password.FormatArgon2id]
	django := byFormat[password.FormatDjangoArgon2]
	pbkdf2 := byFormat[password.FormatDjangoPBKDF2SHA256]
	bsha := byFormat[password.FormatDjangoBcryptSHA256]
	bare := byFormat[password.FormatBcrypt]
	pbkdf2Fields := strings.Split(pbkdf2, "$")
	withIterations := func(n string) string {
		return strings.Join([]string{pbkdf2Fields[0], n, pbkdf2Fields[2], pbkdf2Fields[3]}, "$")
	}
	withCost := func(h, cost string) string { return h[:4] + cost + h[6:] }
	argonField := func(h string, i int, value string) string {
		f := strings.Split(h, "$")
		f[i] = value
		return strings.Join(f, "$")
	}
	argonParams := func(h, params string) string { return argonField(h, 3, params) }
	return []badHash{
		{"empty", "", true, ""},
		{"Django's unusable password", djangoUnusable, true, ""},
		{"bare unusable prefix", "!", true, ""},

		{"argon2id truncated", argon2id[:len(argon2id)-10], false, "key is not unpadded base64"},
		{"argon2id cut in the parameters", argon2id[:20], false, "want 5 fields"},
		{"argon2id key not base64", argon2id[:len(argon2id)-3] + "*==", false, "not unpadded base64"},
		{"argon2id padded salt", argonField(argon2id, 4, strings.Split(argon2id, "$")[4]+"=="), false, "salt is not unpadded base64"},
		// Go's strict base64 skips line breaks; found by FuzzDecodeHash.
		{"argon2id key with a line break", argonField(argon2id, 5, strings.Split(argon2id, "$")[5][:20]+"\n"+strings.Split(argon2id, "$")[5][20:]), false, "key is not unpadded base64"},
		{"pbkdf2 key with a line break", strings.Join(pbkdf2Fields[:3], "$") + "$" + pbkdf2Fields[3][:20] + "\r\n" + pbkdf2Fields[3][20:], false, "not padded base64"},
		{"argon2id 4 GiB", argonParams(argon2id, "m=4194304,t=1,p=1"), false, "memory 4194304 KiB outside"},
		{"argon2id 1000 passes", argonParams(argon2id, "m=64,t=1000,p=1"), false, "iterations 1000 outside"},
		{"argon2id 0 lanes", argonParams(argon2id, "m=64,t=1,p=0"), false, "parallelism 0 outside"},
		{"argon2id 300 lanes", argonParams(argon2id, "m=65536,t=1,p=300"), false, "parallelism 300 outside"},
		{"argon2id memory past uint32", argonParams(argon2id, "m=99999999999,t=1,p=1"), false, "memory 99999999999 KiB outside"},
		{"argon2id 30-digit memory", argonParams(argon2id, "m=999999999999999999999999999999,t=1,p=1"), false, "parameters are not"},
		{"argon2id leading zero", argonParams(argon2id, "m=064,t=1,p=1"), false, "parameters are not"},
		{"argon2id parameters reordered", argonParams(argon2id, "t=3,m=12288,p=1"), false, "parameters are not"},
		{"argon2id other version", strings.Replace(argon2id, "v=19", "v=16", 1), false, "version is not v=19"},
		{"bare argon2i", strings.Replace(argon2id, "$argon2id$", "$argon2i$", 1), false, "bare argon2i is not supported"},
		{"argon2d", strings.Replace(argon2id, "$argon2id$", "$argon2d$", 1), false, "argon2d is not supported"},
		{"Django argon2d", strings.Replace(django, "argon2$argon2id$", "argon2$argon2d$", 1), false, "variant is not argon2id or argon2i"},
		{"Django argon2 before version fields", "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg", false, "no version field"},
		{"Django argon2 truncated", django[:len(django)-5], false, "Django's argon2: the key is not unpadded base64"},
		{"Django argon2 cut in the salt", django[:len(django)-30], false, "Django's argon2: want 5 fields"},

		{"pbkdf2 truncated", pbkdf2[:len(pbkdf2)-4], false, "key length 30, want 32"},
		{"pbkdf2 cut off its padding", pbkdf2[:len(pbkdf2)-1], false, "not padded base64"},
		{"pbkdf2 without key", strings.Join(pbkdf2Fields[:3], "$"), false, "want 3 fields"},
		{"pbkdf2 key not base64", pbkdf2[:len(pbkdf2)-5] + "!!!!=", false, "not padded base64"},
		{"pbkdf2 short key", strings.Join(pbkdf2Fields[:3], "$") + "$c2hvcnQ=", false, "key length 5, want 32"},
		{"pbkdf2 a billion iterations", withIterations("1000000000"), false, "iterations 1000000000 outside"},
		{"pbkdf2 zero iterations", withIterations("0"), false, "iterations 0 outside"},
		{"pbkdf2 negative iterations", withIterations("-1"), false, "iteration count is not"},
		{"pbkdf2 huge iterations", withIterations(strings.Repeat("9", 40)), false, "iteration count is not"},
		{"pbkdf2 leading zero", withIterations("010000"), false, "iteration count is not"},
		{"pbkdf2 plus sign", withIterations("+10000"), false, "iteration count is not"},
		{"pbkdf2 empty salt", strings.Join([]string{pbkdf2Fields[0], pbkdf2Fields[1], "", pbkdf2Fields[3]}, "$"), false, "salt length 0"},
		{"pbkdf2 salt with a space", strings.Join([]string{pbkdf2Fields[0], pbkdf2Fields[1], "sea salt", pbkdf2Fields[3]}, "$"), false, "not printable ASCII"},

		{"bcrypt_sha256 truncated", bsha[:len(bsha)-1], false, "bcrypt_sha256: length 59"},
		{"bcrypt_sha256 cost 31", "bcrypt_sha256$" + withCost(bsha[len("bcrypt_sha256$"):], "31"), false, "cost 31 outside"},
		{"bcrypt_sha256 on 2x", "bcrypt_sha256$$2x" + bsha[len("bcrypt_sha256$$2b"):], false, "version is not 2a, 2b or 2y"},
		{"bcrypt truncated", bare[:len(bare)-1], false, "bcrypt: length 59"},
		{"bcrypt over-long", bare + "A", false, "bcrypt: length 61"},
		{"bcrypt cost 31", withCost(bare, "31"), false, "cost 31 outside"},
		{"bcrypt cost 16", withCost(bare, "16"), false, "cost 16 outside"},
		{"bcrypt cost 3", withCost(bare, "03"), false, "cost 3 outside"},
		{"bcrypt cost not digits", withCost(bare, "1a"), false, "cost is not two digits"},
		{"bcrypt 2x (crypt_blowfish's bug)", "$2x" + bare[3:], false, "version is not 2a, 2b or 2y"},
		{"bcrypt without minor", "$2$" + bare[4:] + "A", false, "version is not"},
		{"bcrypt outside the alphabet", bare[:len(bare)-1] + "+", false, "alphabet"},

		{"over-long", pbkdf2 + strings.Repeat("A", 600), false, "longer than 512 bytes"},
		{"plain text", "correct horse battery staple", false, "unknown format"},
		{"unknown prefix", "sha512$abc$def", false, "unknown format"},
		{"Django pbkdf2_sha1", "pbkdf2_sha1$260000$" + pbkdf2Fields[2] + "$" + pbkdf2Fields[3], false, "pbkdf2_sha1 is not supported"},
		{"Django plain bcrypt", "bcrypt$" + bare, false, "plain bcrypt"},
		{"SHA-512-crypt", "$6$rounds=5000$saltsalt$" + strings.Repeat("x", 86), false, "SHA-512-crypt is not supported"},
		{"bare dollar", "$", false, "unknown format"},
		{"NUL bytes", "\x00\x00\x00\x00\x00\x00\x00\x00", false, "unknown format"},
	}
}

// assertNoSecret fails when text carries the hash (or its salt and key
// fields) or the password.
func assertNoSecret(t *testing.T, text, hash, pw string) {
	t.Helper()
	if pw != "" && strings.Contains(text, pw) {
		t.Errorf("the password is in %q", text)
	}
	if len(hash) >= 8 && strings.Contains(text, hash) {
		t.Errorf("the hash is in %q", text)
	}
	// Field 0 is, in Django's formats, the algorithm's name, which an error
	// names on purpose; a hash without "$" is covered above.
	for _, field := range strings.Split(hash, "$")[1:] {
		if len(field) >= 12 && strings.Contains(text, field) {
			t.Errorf("a field of the hash (%d bytes) is in %q", len(field), text)
		}
	}
}

package password_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// firstUpgrades is a store whose every correct legacy login is the first:
// it counts the upgraded hashes it is handed and keeps serving the legacy
// one.
type firstUpgrades struct {
	*memstore.Store
	upgrades atomic.Int64
}

func (s *firstUpgrades) UpdatePasswordHash(_ context.Context, _ int64, hash string) error {
	if !strings.HasPrefix(hash, "$argon2id$") {
		return errors.New("not an argon2id hash")
	}
	s.upgrades.Add(1)
	return nil
}

// bareVerify returns the library call that verifies v's format, with no
// code of this package: the cost a login through Authenticate is compared
// with. The hash is taken apart here, outside the timed call.
func bareVerify(b *testing.B, v vector) func() bool {
	b.Helper()
	pw := v.password
	switch v.format {
	case password.FormatArgon2id, password.FormatDjangoArgon2:
		f := strings.Split(strings.TrimPrefix(v.hash, "argon2"), "$")
		var m, t, p uint64
		for _, kv := range strings.Split(f[3], ",") {
			n, err := strconv.ParseUint(kv[2:], 10, 32)
			if err != nil {
				b.Fatal(err)
			}
			switch kv[0] {
			case 'm':
				m = n
			case 't':
				t = n
			case 'p':
				p = n
			}
		}
		salt, err1 := base64.RawStdEncoding.DecodeString(f[4])
		key, err2 := base64.RawStdEncoding.DecodeString(f[5])
		if err := errors.Join(err1, err2); err != nil || f[1] != "argon2id" {
			b.Fatalf("%s: %v", v.name, err)
		}
		return func() bool {
			return string(argon2.IDKey([]byte(pw), salt, uint32(t), uint32(m), uint8(p), uint32(len(key)))) == string(key)
		}
	case password.FormatDjangoPBKDF2SHA256:
		f := strings.Split(v.hash, "$")
		iter, err1 := strconv.Atoi(f[1])
		key, err2 := base64.StdEncoding.DecodeString(f[3])
		if err := errors.Join(err1, err2); err != nil {
			b.Fatal(err)
		}
		return func() bool {
			got, err := pbkdf2.Key(sha256.New, pw, []byte(f[2]), iter, len(key))
			return err == nil && string(got) == string(key)
		}
	case password.FormatDjangoBcryptSHA256:
		h := []byte(strings.TrimPrefix(v.hash, "bcrypt_sha256$"))
		return func() bool {
			sum := sha256.Sum256([]byte(pw))
			return bcrypt.CompareHashAndPassword(h, hex.AppendEncode(nil, sum[:])) == nil
		}
	case password.FormatBcrypt:
		h := []byte(v.hash)
		return func() bool { return bcrypt.CompareHashAndPassword(h, []byte(pw)) == nil }
	}
	b.Fatalf("no bare verification for %s", v.format)
	return nil
}

// BenchmarkLegacyLogin compares, for each legacy format at cheap but
// realistic parameters (benchVectors, made outside Go), a correct login
// through Authenticate with the bare library call that verifies the
// format, both timed in the same loop in alternating order so that drift in
// the machine's speed falls on both alike:
//
//   - login: a store without PasswordHashUpdater, so the hash stays legacy
//     and each login costs one verification;
//   - upgrade: the first correct login, which also hashes the password with
//     DefaultParams for the store; its baseline is the bare verification
//     plus argon2id.CreateHash with DefaultParams.
//
// ratio is the median of the per-iteration ratios of the login's time to the
// baseline's (the target is at most 1.05), mean_ratio that of the totals.
// Run: go test -run '^$' -bench LegacyLogin -benchtime 10x ./backends/password
func BenchmarkLegacyLogin(b *testing.B) {
	for _, v := range benchVectors {
		for _, upgrade := range []bool{false, true} {
			name := v.name + "/login"
			if upgrade {
				name = v.name + "/upgrade"
			}
			b.Run(name, func(b *testing.B) {
				store := &firstUpgrades{Store: memstore.New()}
				if _, err := store.CreateUser(ctx, zulipauth.NewUser{Email: "Iago@zulip.com", PasswordHash: v.hash}); err != nil {
					b.Fatal(err)
				}
				var users zulipauth.UserStore = readOnly{store.Store}
				if upgrade {
					users = store
				}
				a, err := password.New(users)
				if err != nil {
					b.Fatal(err)
				}
				verify := bareVerify(b, v)
				baseline := verify
				if upgrade {
					baseline = func() bool {
						ok := verify()
						_, err := argon2id.CreateHash(v.password, new(password.DefaultParams()))
						return ok && err == nil
					}
				}
				login := func() bool {
					_, err := a.Authenticate(ctx, attempt("Iago@zulip.com", v.password))
					return err == nil
				}
				timed := func(f func() bool) time.Duration {
					start := time.Now()
					if !f() {
						b.Fatal("the correct password failed")
					}
					return time.Since(start)
				}
				var ratios []float64
				var rawTotal, authTotal time.Duration
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					var raw, auth time.Duration
					if i%2 == 0 {
						raw, auth = timed(baseline), timed(login)
					} else {
						auth, raw = timed(login), timed(baseline)
					}
					rawTotal, authTotal = rawTotal+raw, authTotal+auth
					ratios = append(ratios, float64(auth)/float64(raw))
				}
				if upgrade && store.upgrades.Load() != int64(len(ratios)) {
					b.Fatalf("%d upgrades in %d logins", store.upgrades.Load(), len(ratios))
				}
				slices.Sort(ratios)
				n := len(ratios)
				b.ReportMetric(float64(rawTotal)/1e6/float64(n), "bare_ms/op")
				b.ReportMetric(float64(authTotal)/1e6/float64(n), "login_ms/op")
				b.ReportMetric((ratios[(n-1)/2]+ratios[n/2])/2, "ratio")
				b.ReportMetric(float64(authTotal)/float64(rawTotal), "mean_ratio")
			})
		}
	}
}

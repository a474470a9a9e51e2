package sqlstore_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// benchUsers is how many accounts the benchmark database holds.
const benchUsers = 1000

// benchStore opens a database per driver with benchUsers users and returns
// the store with the users' emails (upper-cased, so lookups fold) and keys.
func benchStore(b *testing.B, dc driverCase) (*sqlstore.Store, []string, []string) {
	b.Helper()
	s := open(b, dc.driver, dc.newDSN(b))
	emails := make([]string, benchUsers)
	keys := make([]string, benchUsers)
	for i := range benchUsers {
		u, err := s.CreateUser(b.Context(), zulipauth.NewUser{
			Email:        fmt.Sprintf("user%04d@example.com", i),
			FullName:     fmt.Sprintf("User %d", i),
			PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
		})
		if err != nil {
			b.Fatal(err)
		}
		emails[i], keys[i] = strings.ToUpper(u.Email), u.APIKey
	}
	return s, emails, keys
}

// benchLookup runs lookup over the inputs, serially and from parallel
// goroutines, per driver.
func benchLookup(b *testing.B, lookup func(b *testing.B, s *sqlstore.Store, emails, keys []string, i int) error) {
	for _, dc := range drivers {
		b.Run(dc.name, func(b *testing.B) {
			s, emails, keys := benchStore(b, dc)
			b.Run("serial", func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := lookup(b, s, emails, keys, i); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := 0
					for pb.Next() {
						if err := lookup(b, s, emails, keys, i); err != nil {
							b.Error(err)
							return
						}
						i++
					}
				})
			})
		})
	}
}

func BenchmarkUserByEmail(b *testing.B) {
	benchLookup(b, func(b *testing.B, s *sqlstore.Store, emails, _ []string, i int) error {
		_, err := s.UserByEmail(b.Context(), "", emails[i%len(emails)])
		return err
	})
}

func BenchmarkUserByAPIKey(b *testing.B) {
	benchLookup(b, func(b *testing.B, s *sqlstore.Store, _, keys []string, i int) error {
		_, err := s.UserByAPIKey(b.Context(), keys[i%len(keys)])
		return err
	})
}

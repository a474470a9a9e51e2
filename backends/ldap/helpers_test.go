package ldap_test

import (
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/internal/syncbuf"
	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

var (
	root = zulipauth.Realm{Name: "Zulip"}
	// errFault stands for "a fault": an error that is none of zulipauth's
	// client failures, which the login handler answers with 500.
	errFault = errors.New("a fault (not a zulipauth sentinel)")
)

// newAuth builds an Authenticator for the test, with short timeouts, and
// closes it when the test ends.
func newAuth(tb testing.TB, cfg ldap.Config) *ldap.Authenticator {
	tb.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(tb.Output(), nil))
	}
	a, err := ldap.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return a
}

// templateConfig finds entries by slapdtest.UserDNTemplate, with users@example.org
// emails (AppendDomain).
func templateConfig(d *slapdtest.Directory, users zulipauth.UserStore) ldap.Config {
	return ldap.Config{Users: users, URL: d.URL, UserDNTemplate: slapdtest.UserDNTemplate, AppendDomain: "example.org"}
}

// searchConfig finds entries by uid with the service account, emails from
// mail.
func searchConfig(d *slapdtest.Directory, users zulipauth.UserStore) ldap.Config {
	return ldap.Config{
		Users: users, URL: d.URL,
		BindDN: d.ServiceDN, BindPassword: d.ServicePassword,
		BaseDN: d.BaseDN, UsernameAttr: "uid", UserFilter: "(objectClass=inetOrgPerson)",
		EmailAttr: "mail",
	}
}

// storeWith is a memstore holding accounts with these emails.
func storeWith(tb testing.TB, emails ...string) *memstore.Store {
	tb.Helper()
	s := memstore.New()
	for _, e := range emails {
		if _, err := s.CreateUser(tb.Context(), zulipauth.NewUser{Email: e, FullName: e}); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

func attempt(username, password string) zulipauth.Attempt {
	return zulipauth.Attempt{Realm: root, Username: username, Password: password}
}

// checkErr reports whether err is want, where errFault means any error the
// login handler treats as a fault.
func checkErr(err, want error) bool {
	switch want {
	case nil:
		return err == nil
	case errFault:
		// A fault is what the login handler answers with 500.
		w := httptest.NewRecorder()
		zulipauth.WriteError(w, err)
		return err != nil && w.Code == 500
	}
	return errors.Is(err, want)
}

// syncBuf is a log that goroutines write while the test reads it.
type syncBuf = syncbuf.Buffer

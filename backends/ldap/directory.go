package ldap

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// The operations a login sends to the directory. Searches run on the
// search pool's connections, bound as the service account (or anonymous)
// when opened and never rebound; users' binds run on the bind pool's, each
// use starting with the user's own bind. So no search ever runs as the
// previous user of a connection.

// dialSearch opens a connection for searches and binds it as the service
// account, within DialTimeout.
func (a *Authenticator) dialSearch(ctx context.Context) (*conn, error) {
	start := time.Now()
	c, err := a.dial(ctx)
	if err != nil || a.cfg.BindDN == "" {
		return c, err
	}
	left := max(a.cfg.DialTimeout-time.Since(start), time.Millisecond)
	err = c.do(ctx, left, func(l *goldap.Conn) error { return l.Bind(a.cfg.BindDN, a.cfg.BindPassword) })
	if err != nil {
		c.close()
		if code, ok := resultCode(err); ok && code == goldap.LDAPResultInvalidCredentials {
			return nil, fmt.Errorf("ldap: the directory refused the service account %s (check BindDN and its password): %w", a.cfg.BindDN, err)
		}
		return nil, fmt.Errorf("ldap: binding as the service account %s: %w", a.cfg.BindDN, err)
	}
	return c, nil
}

// dialBind opens a connection for users' binds.
func (a *Authenticator) dialBind(ctx context.Context) (*conn, error) { return a.dial(ctx) }

func (a *Authenticator) dial(ctx context.Context) (*conn, error) {
	return dial(ctx, a.addr, a.tls, a.implicitTLS, a.cfg.DialTimeout)
}

// search returns the entries under BaseDN that match filter, with the
// attributes a login reads. It asks for two at most: enough to tell one
// from several.
func (a *Authenticator) search(ctx context.Context, filter string) ([]*goldap.Entry, error) {
	req := &goldap.SearchRequest{
		BaseDN:       a.cfg.BaseDN,
		Scope:        goldap.ScopeWholeSubtree,
		DerefAliases: goldap.NeverDerefAliases,
		SizeLimit:    2,
		TimeLimit:    int(math.Ceil(a.cfg.Timeout.Seconds())),
		Filter:       filter,
		Attributes:   a.requestedAttrs(),
	}
	var entries []*goldap.Entry
	err := a.searches.use(ctx, a.cfg.Timeout, a.cfg.Logger, func(c *conn) error {
		return c.do(ctx, a.cfg.Timeout, func(l *goldap.Conn) error {
			res, err := l.Search(req)
			if code, ok := resultCode(err); ok && code == goldap.LDAPResultSizeLimitExceeded && res != nil {
				err = nil // more than SizeLimit match: the two received say "several"
			}
			if err == nil {
				entries = res.Entries
			}
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("ldap: searching under %s: %w", a.cfg.BaseDN, err)
	}
	return entries, nil
}

// requestedAttrs is what searches ask for: "1.1", no attribute at all
// (RFC 4511 4.5.1.8), when a login reads none.
func (a *Authenticator) requestedAttrs() []string {
	if len(a.entryAttrs) == 0 {
		return []string{"1.1"}
	}
	return a.entryAttrs
}

// bind checks password with a bind as e's DN. When the entry's attributes
// are still needed (an entry named by UserDNTemplate), they are read right
// after, as the user, on the same connection: the directory must let users
// read their own entry. Only "invalid credentials" (or "no such object")
// is [zulipauth.ErrBadCredentials]; every other failure is a fault.
func (a *Authenticator) bind(ctx context.Context, e *entry, password string) error {
	return a.binds.use(ctx, a.cfg.Timeout, a.cfg.Logger, func(c *conn) error {
		// Authenticate refuses an empty password before this point; go-ldap's
		// Bind refuses one too (an unauthenticated bind would succeed).
		err := c.do(ctx, a.cfg.Timeout, func(l *goldap.Conn) error { return l.Bind(e.dn, password) })
		if code, ok := resultCode(err); ok && (code == goldap.LDAPResultInvalidCredentials || code == goldap.LDAPResultNoSuchObject) {
			return zulipauth.ErrBadCredentials
		}
		if err != nil {
			return fmt.Errorf("ldap: binding as %s: %w", e.dn, err)
		}
		if e.attrs != nil {
			return nil
		}
		if len(a.entryAttrs) == 0 {
			e.account = a.whoAmI(ctx, c, e)
			return nil
		}
		req := &goldap.SearchRequest{
			BaseDN:       e.dn,
			Scope:        goldap.ScopeBaseObject,
			DerefAliases: goldap.NeverDerefAliases,
			SizeLimit:    1,
			TimeLimit:    int(math.Ceil(a.cfg.Timeout.Seconds())),
			Filter:       "(objectClass=*)",
			Attributes:   a.entryAttrs,
		}
		var res *goldap.SearchResult
		err = c.do(ctx, a.cfg.Timeout, func(l *goldap.Conn) (err error) {
			res, err = l.Search(req)
			return err
		})
		if err == nil && len(res.Entries) != 1 {
			err = errors.New("its user may not read it (the directory's access rules must let users read their own entry)")
		}
		if err != nil {
			return fmt.Errorf("ldap: reading the entry %s as its user: %w", e.dn, err)
		}
		e.attrs = res.Entries[0]
		e.account = accountOf(e.attrs.DN)
		return nil
	})
}

// whoAmI names the entry UserDNTemplate led to, once its user is bound,
// when no attribute of it is read: the identity the directory gives the
// connection (RFC 4532's Who am I?, "dn:" and the DN as the directory
// normalizes it), one round trip on a correct password only. A directory
// that does not answer it leaves the DN the template made, with the
// username as the directory compares it: then PrepareUsername's key is
// all that merges spellings.
func (a *Authenticator) whoAmI(ctx context.Context, c *conn, e *entry) string {
	var res *goldap.WhoAmIResult
	err := c.do(ctx, a.cfg.Timeout, func(l *goldap.Conn) (err error) {
		res, err = l.WhoAmI(nil)
		return err
	})
	if err == nil && strings.HasPrefix(res.AuthzID, "dn:") && len(res.AuthzID) > len("dn:") {
		return accountOf(res.AuthzID[len("dn:"):])
	}
	return accountOf(prepareString(e.dn))
}

// noEntryPrefix starts the value of noEntryDN's RDN, so that a directory's
// administrator who sees failed binds to it in the directory's log can
// tell what they are.
const noEntryPrefix = "zulipauth-no-entry-"

// newNoEntryDN is a DN that no entry has, for bindNoEntry: under BaseDN
// (or, without one, in UserDNTemplate's place), with an RDN cn whose value
// is noEntryPrefix and 26 random characters from crypto/rand (130 bits),
// escaped. It is chosen once, by New: were it fixed, a directory could
// hold it; were it new at every login, nothing would be gained.
//
// cn rather than UsernameAttr: cn is a naming attribute in every schema
// (Active Directory names entries CN=...), and sAMAccountName, say, is not.
func newNoEntryDN(cfg Config) string {
	value := goldap.EscapeDN(noEntryPrefix + rand.Text())
	if cfg.BaseDN == "" {
		return strings.Replace(cfg.UserDNTemplate, "%s", value, 1)
	}
	return "cn=" + value + "," + cfg.BaseDN
}

// bindNoEntry is what a login whose username names no entry (or several)
// spends instead of the user's bind: a bind with the password as
// a.noEntryDN, which no entry has, on the bind pool and through bind, as a
// wrong password's. So it costs what a wrong password costs, the time of
// the answer does not tell which usernames the directory holds, and the
// connection is left as a failed bind leaves it (anonymous, reused, bound
// again by its next use).
//
// The answer is zulipauth.ErrBadCredentials: on the directory's "invalid
// credentials" (what slapd answers for a DN without an entry, as the tests
// check against it; a directory answers so rather than reveal which DNs
// exist) or "no such object", and even on a success, since no entry stands
// behind the DN. Every other failure is a fault, or zulipauth.ErrBusy, or
// ctx's error, exactly as bind reports them for a real entry: a directory
// that is down does not answer unknown usernames with 401 while it answers
// known ones with 500.
func (a *Authenticator) bindNoEntry(ctx context.Context, password string) error {
	// attrs set: nothing to read after the bind, as for an entry found by
	// a search.
	err := a.bind(ctx, &entry{dn: a.noEntryDN, attrs: &goldap.Entry{}}, password)
	if err == nil {
		return zulipauth.ErrBadCredentials
	}
	return err
}

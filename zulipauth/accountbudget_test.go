package zulipauth_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// aliasAuthenticator takes several spellings for one account, as an LDAP
// directory takes "ｈamlet" for "hamlet": every username that starts with
// "iago" (folded) names Iago. It charges the account before it checks the
// password, as the Attempt.ChargeAccount contract asks, and counts the
// passwords it checks.
type aliasAuthenticator struct {
	f       *fixture
	checked atomic.Int64
	prepare bool // PrepareUsername merges the spellings
}

func (a *aliasAuthenticator) Authenticate(ctx context.Context, at zulipauth.Attempt) (zulipauth.User, error) {
	if !strings.HasPrefix(strings.ToLower(at.Username), "iago") {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	if err := at.ChargeAccount(ctx, "iago's account"); err != nil {
		return zulipauth.User{}, err
	}
	a.checked.Add(1)
	if at.Password != iagoPassword {
		return zulipauth.User{}, zulipauth.ErrBadCredentials
	}
	return a.f.iago, nil
}

func (a *aliasAuthenticator) AcceptsNonEmailUsernames(zulipauth.Realm) bool { return true }

// PrepareUsername merges the spellings when the test asks it to; otherwise
// every spelling is a budget of its own, and only the account's budget
// holds them together.
func (a *aliasAuthenticator) PrepareUsername(u string) string {
	if a.prepare && strings.HasPrefix(u, "iago") {
		return "iago"
	}
	return u
}

func newAliasFixture(t *testing.T, prepare bool) (*fixture, *aliasAuthenticator) {
	alias := &aliasAuthenticator{prepare: prepare}
	f := newFixture(t, func(c *zulipauth.Config) { c.Authenticator = alias })
	alias.f = f
	return f, alias
}

// Pins the bypass of the LDAP username budget with other spellings of one
// person (ｈamlet, hａmlet, ... each had five more verified guesses, and the
// right password answered 200 once hamlet's budget was spent): the budget of
// the account a username names is charged too, so that a spelling the
// per-username key misses is refused once the account's budget is spent,
// even with the right password, and without a password check.
func TestAccountBudgetHoldsForEverySpelling(t *testing.T) {
	t.Parallel()
	f, alias := newAliasFixture(t, false)
	for i := 1; i <= 5; i++ {
		if w := f.login("iago", "wrong", ""); w.Code != 401 {
			t.Fatalf("attempt %d: %d %s, want 401", i, w.Code, w.Body)
		}
	}
	checked := alias.checked.Load()
	for _, spelling := range []string{"iago", "IAGO2", "iago-the-same-person"} {
		w := f.login(spelling, iagoPassword, "")
		if w.Code != 429 || w.Body.String() != wantRateLimited360 {
			t.Fatalf("%q after the account's budget was spent: %d %s, want 429 %s", spelling, w.Code, w.Body, wantRateLimited360)
		}
		if got := w.Header().Get("X-RateLimit-Remaining"); got != "0" {
			t.Errorf("%q: X-RateLimit-Remaining = %q, want 0", spelling, got)
		}
		if got := w.Header().Get("Retry-After"); got != "360" {
			t.Errorf("%q: Retry-After = %q, want 360", spelling, got)
		}
	}
	if n := alias.checked.Load(); n != checked {
		t.Errorf("%d passwords checked after the account's budget was spent, want none", n-checked)
	}
	last := f.lastEvent()
	if last.Kind != zulipauth.LoginRateLimited || last.Limit != "account" || last.Account != "iago's account" {
		t.Errorf("last event = %+v, want a refusal by the account's budget naming the account", last)
	}
	for _, ev := range f.events() {
		if ev.Kind == zulipauth.LoginFailed && ev.Account != "iago's account" {
			t.Errorf("failed attempt's event has Account %q, want the account it named", ev.Account)
		}
	}
}

// A success clears the account's budget as well as the username's, so the
// budget of an account whose owner logged in is whole again, whatever
// spelling the owner used.
func TestAccountBudgetClearedBySuccess(t *testing.T) {
	t.Parallel()
	f, _ := newAliasFixture(t, false)
	for i := 0; i < 4; i++ {
		f.login("iago-a", "wrong", "")
	}
	if w := f.login("iago-b", iagoPassword, ""); w.Code != 200 {
		t.Fatalf("right password: %d %s", w.Code, w.Body)
	}
	for i := 1; i <= 5; i++ {
		if w := f.login("iago-c", "wrong", ""); w.Code != 401 {
			t.Fatalf("attempt %d after the success: %d %s, want 401 (the account's budget is whole again)", i, w.Code, w.Body)
		}
	}
}

// An authenticator that prepares usernames as it compares them merges its
// spellings into one per-username budget, which refuses before the
// authenticator is called at all (and before a limiter is asked, for a
// second after it refused).
func TestPreparedUsernamesShareOneBudget(t *testing.T) {
	t.Parallel()
	f, alias := newAliasFixture(t, true)
	for i, spelling := range []string{"iago1", "iago2", "IAGO3", " iago4", "iago5"} {
		if w := f.login(spelling, "wrong", ""); w.Code != 401 {
			t.Fatalf("attempt %d: %d %s, want 401", i+1, w.Code, w.Body)
		}
	}
	calls := alias.checked.Load()
	w := f.login("iago6", iagoPassword, "")
	if w.Code != 429 {
		t.Fatalf("sixth spelling: %d %s, want 429", w.Code, w.Body)
	}
	if last := f.lastEvent(); last.Limit != "username" {
		t.Errorf("refused by %q, want the username's budget", last.Limit)
	}
	if alias.checked.Load() != calls {
		t.Error("the authenticator was called after the prepared username's budget was spent")
	}
	f.clock.Advance(6 * time.Minute)
	if w := f.login("iago7", iagoPassword, ""); w.Code != 200 {
		t.Fatalf("a token later: %d %s, want 200", w.Code, w.Body)
	}
}

// An authenticator that goes on after ChargeAccount refused does not win:
// the account's refusal is the answer.
func TestAccountRefusalStandsIfIgnored(t *testing.T) {
	t.Parallel()
	var f *fixture
	f = newFixture(t, func(c *zulipauth.Config) {
		c.Authenticator = zulipauth.AuthenticatorFunc(func(ctx context.Context, at zulipauth.Attempt) (zulipauth.User, error) {
			_ = at.ChargeAccount(ctx, "iago") // ignored, against the contract
			if at.Password != iagoPassword {
				return zulipauth.User{}, zulipauth.ErrBadCredentials
			}
			return f.iago, nil
		})
	})
	for i := 0; i < 5; i++ {
		f.login(iagoEmail, "wrong", "")
	}
	if w := f.login("iago+other@zulip.com", iagoPassword, ""); w.Code != 429 {
		t.Fatalf("%d %s, want 429", w.Code, w.Body)
	}
}

// Outside a login, ChargeAccount does nothing: an Authenticator can be
// called directly, in a test or a command.
func TestChargeAccountOutsideALogin(t *testing.T) {
	t.Parallel()
	if err := (zulipauth.Attempt{}).ChargeAccount(context.Background(), "anyone"); err != nil {
		t.Fatal(err)
	}
}

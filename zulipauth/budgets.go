package zulipauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth/internal/expiring"
)

// How the handlers spend the three budgets ([Limiter]s) of Zulip's rules:
//
//   - the client's (Config.IPLimiter, keyed by ipKey), spent by every login
//     attempt before it can reach a store, and by every failed API
//     authentication;
//   - the username's (Config.UsernameLimiter, keyed by usernameKey) and the
//     account's (the same limiter, keyed by accountKey), spent by every
//     password login before the password is checked and cleared by a
//     success;
//   - the user's (Config.UserLimiter, keyed by the user's ID), spent by
//     every request RequireAPIKey authenticates.
//
// A refusal is remembered for a second at most (see refusal), so that a
// client or username hammering a spent budget costs no limiter call.
// Every answer carries the X-RateLimit-* headers of the budgets it spent.

// refusal is a budget's answer to a key it refused, kept until one event
// is allowed again but never longer than refusalKeep, so that the key's
// next attempts are refused without asking the limiter (a Redis round
// trip, with backends/redislimit) and, for a client, before its body is
// read.
//
// A kept refusal never outlasts the budget's own: a token bucket gains its
// next event only when RetryAfter has passed (the Limiter contract), and
// nothing else refills one (a budget is reset only after a successful
// login, which needs an event of that very budget). So until then every
// limiter, in this process or shared by many, would refuse the key too. The
// one exception is a shared budget that loses its state (a Redis restarted
// without persistence, a limiter falling back to a budget of its own during
// an outage and back): refusalKeep bounds how long a refusal made before
// outlives it. A refusal pushed out of the bounded map only costs the
// limiter call it would have saved.
type refusal struct {
	limit   int       // Decision.Limit
	allowed time.Time // when one event is allowed again (Decision.RetryAfter from then)
	reset   time.Time // when the budget is full again (Decision.ResetAfter from then)
}

// refusalKeep bounds how long a refusal is kept: a key hammering a spent
// budget then costs one limiter call a second, and a budget that lost its
// state (see refusal) is asked again within a second.
const refusalKeep = time.Second

// newRefusalMemory is a bounded map of refusals; see refusal.
func newRefusalMemory() *expiring.Map[refusal] {
	return expiring.New[refusal](DefaultMaxKeys, refusalKeep)
}

// remember keeps d, a refusal of key at now; see refusal.
func remember(m *expiring.Map[refusal], key string, d Decision, now time.Time) {
	if d.Allowed || d.RetryAfter <= 0 {
		return
	}
	r := refusal{limit: d.Limit, allowed: now.Add(d.RetryAfter), reset: now.Add(d.ResetAfter)}
	m.Put(key, r, now.Add(min(d.RetryAfter, refusalKeep)), now)
}

// recall returns the decision the budget would give key at now, if key's
// refusal is kept and still holds.
func recall(m *expiring.Map[refusal], key string, now time.Time) (Decision, bool) {
	r, _, ok := m.Get(key, now)
	if !ok {
		return Decision{}, false
	}
	return Decision{Limit: r.limit, RetryAfter: r.allowed.Sub(now), ResetAfter: max(r.reset.Sub(now), 0)}, true
}

// spendClientBudget spends one event of the client's budget. A refusal is
// reported to Config.OnEvent, remembered (see refusal) and answered with
// 429.
func (a *Auth) spendClientBudget(l *login) *Error {
	ctx := l.r.Context()
	d, err := a.cfg.IPLimiter.Allow(ctx, l.ipKey)
	if err != nil {
		return a.answer(ctx, l.ep, "the client-IP rate limiter", err)
	}
	l.limits[0] = d // its headers go out with a refusal, or with the username's budget
	if !d.Allowed {
		remember(a.refused, l.ipKey, d, l.ev.Time)
		l.nLimits = 1
		return a.refuse(l, "ip", d)
	}
	return nil
}

// refuseSpentUsername refuses an attempt at a username whose budget is
// remembered as refused (see refusal) before the client's budget is
// spent: such an attempt costs nothing and tells nothing, so charging the
// client for it would protect nothing, and a flood from many addresses at
// spent usernames then costs no limiter call (with Redis, no round trip)
// and no new bucket per address. The answer carries the username's budget's
// headers alone, as Zulip's does (it has no per-client budget here). The
// subdomain comes from the resolver without a lookup; a resolver that
// cannot name it leaves the check to spendUsernameBudget, after the realm.
func (a *Auth) refuseSpentUsername(l *login) *Error {
	if a.subdomains == nil {
		return nil
	}
	sub := a.subdomains.requestSubdomain(l.r)
	d, refused := recall(a.spentUsernames, a.usernameKey(sub, l.values[0]), l.ev.Time)
	if !refused {
		return nil
	}
	l.ev.Realm = sub
	l.limits[0], l.nLimits = d, 1
	return a.refuse(l, "username", d)
}

// spendUsernameBudget spends one event of the username's budget; from here
// on the answer carries the X-RateLimit headers of both budgets. A username
// its budget refused is refused again without asking the limiter for a
// second, never past the refusal's RetryAfter (see refusal).
func (a *Auth) spendUsernameBudget(l *login, userKey string) *Error {
	ctx := l.r.Context()
	d, refused := recall(a.spentUsernames, userKey, l.ev.Time)
	if !refused {
		var err error
		if d, err = a.cfg.UsernameLimiter.Allow(ctx, userKey); err != nil {
			return a.answer(ctx, l.ep, "the username rate limiter", err)
		}
	}
	l.limits[1], l.nLimits = d, 2
	if !d.Allowed {
		remember(a.spentUsernames, userKey, d, l.ev.Time)
		return a.refuse(l, "username", d)
	}
	return nil
}

// refuse reports an attempt a budget refused and returns its 429.
func (a *Auth) refuse(l *login, limit string, d Decision) *Error {
	return a.refuseEvent(l.ev, limit, d)
}

func (a *Auth) refuseEvent(ev Event, limit string, d Decision) *Error {
	ev.Kind, ev.Code, ev.Limit = LoginRateLimited, codeRateLimitHit, limit
	a.emit(ev)
	return rateLimited(d.RetryAfter)
}

// resetUsernameBudget clears a username's (or an account's) failures after
// a success, as Zulip's clear_history does. A failure to do so is logged;
// the login stands.
func (a *Auth) resetUsernameBudget(ctx context.Context, key string) {
	if err := a.cfg.UsernameLimiter.Reset(ctx, key); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "zulipauth: clearing the login budget failed", "error", err)
	}
}

// accountCharger spends, for one login, the budgets of the accounts its
// username names (see Attempt.ChargeAccount): keyed by the account, so that
// every spelling of a username that reaches the account spends one budget.
// It holds copies of what it needs rather than the login itself, which
// stays on its handler's stack; the handler reads the outcome back with
// settle.
type accountCharger struct {
	a     *Auth
	realm string
	ev    Event    // the login's event so far, for a refusal's
	keys  []string // the accounts' budget keys charged, in order
	// d is the decision with the fewest events remaining among the
	// accounts' budgets, for the answer's X-RateLimit-* headers.
	d      Decision
	answer *Error // what ChargeAccount returned, if it refused
}

func (a *Auth) newAccountCharger(l *login) *accountCharger {
	return &accountCharger{a: a, realm: l.realm.Subdomain, ev: l.ev}
}

func (c *accountCharger) charge(ctx context.Context, account string) error {
	if c.answer != nil {
		return c.answer
	}
	key := accountKey(c.realm, account)
	if slices.Contains(c.keys, key) {
		return nil
	}
	c.keys = append(c.keys, key)
	if c.ev.Account == "" {
		c.ev.Account = account
	}
	a := c.a
	d, refused := recall(a.spentUsernames, key, c.ev.Time)
	if !refused {
		var err error
		if d, err = a.cfg.UsernameLimiter.Allow(ctx, key); err != nil {
			c.answer = a.answer(ctx, epLogin, "the account rate limiter", err)
			return c.answer
		}
	}
	if len(c.keys) == 1 || d.Remaining < c.d.Remaining || !d.Allowed {
		c.d = d
	}
	if !d.Allowed {
		remember(a.spentUsernames, key, d, c.ev.Time)
		c.answer = a.refuseEvent(c.ev, "account", d)
		return c.answer
	}
	return nil
}

// settle copies what the charger learnt into l: the account, for the
// login's event, and the account budget's headers. It returns the answer a
// refusal decided, which stands whatever the authenticator returned.
func (c *accountCharger) settle(l *login) *Error {
	if len(c.keys) > 0 {
		l.ev.Account = c.ev.Account
		l.limits[2], l.nLimits = c.d, 3
	}
	return c.answer
}

// resetAccountBudgets clears the budgets of the accounts a successful
// login named, as resetUsernameBudget clears the username's.
func (c *accountCharger) resetAccountBudgets(ctx context.Context) {
	for _, k := range c.keys {
		c.a.resetUsernameBudget(ctx, k)
	}
}

// spendUserBudget spends one event of an authenticated API request's user's
// budget (Config.UserLimiter).
func (a *Auth) spendUserBudget(ctx context.Context, key string) (Decision, *Error) {
	d, err := a.cfg.UserLimiter.Allow(ctx, key)
	if err != nil {
		return d, a.answer(ctx, epAPI, "the user rate limiter", err)
	}
	if !d.Allowed {
		return d, rateLimited(d.RetryAfter)
	}
	return d, nil
}

// chargeFailedAPIRequest spends one event of the client's budget
// (Config.IPLimiter, Zulip's api_by_ip for requests that are not
// authenticated) for a failed API authentication, and returns the refusal
// when it was the last: once the budget is spent, the answer is 429, and
// until it refills the client's requests are refused before any store
// lookup (see credentials), so a flood of made-up keys cannot turn into a
// flood of queries. A limiter that fails is logged and leaves the failure
// as it was.
func (a *Auth) chargeFailedAPIRequest(r *http.Request, now time.Time) (Decision, bool) {
	ipk := ipKey(a.ClientIP(r))
	d, err := a.cfg.IPLimiter.Allow(r.Context(), ipk)
	if err != nil {
		a.cfg.Logger.ErrorContext(r.Context(), "zulipauth: rate limiter failed", "limit", "ip", "error", err)
		return d, false
	}
	if d.Allowed {
		return d, false
	}
	remember(a.refused, ipk, d, now)
	return d, true
}

// ipKey is the rate-limit key for a client address: IPv4 addresses as they
// are, IPv6 addresses by their /64, since one host is routinely given a whole
// /64 and could otherwise rotate through it to escape the limit.
func ipKey(a netip.Addr) string {
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// maxKeyLen bounds the length of a username rate-limit key; longer usernames
// (possible where non-email usernames are accepted) are hashed, so a flood of
// huge usernames cannot fill the limiter's memory with them.
const maxKeyLen = 256

// usernameKey is the per-username budget's key: the realm and the username
// trimmed and case-folded, then prepared as the authenticator compares
// usernames (see UsernameComparer), so "Iago@zulip.com " and
// "iago@zulip.com" share one budget (Zulip keys by the username exactly as
// typed), and so do "ｈamlet" and "hamlet" where a directory takes them for
// one entry.
func (a *Auth) usernameKey(realm, username string) string {
	u := FoldEmail(username)
	if a.usernames != nil {
		u = a.usernames.PrepareUsername(u)
	}
	return budgetKey(realm + "\x00" + u)
}

// accountKey is the key of the budget of an account an authenticator named
// (see Attempt.ChargeAccount). A username's key starts with its realm's
// subdomain, which no "#" starts (a DNS label), so the two never meet.
func accountKey(realm, account string) string {
	return budgetKey("#" + realm + "\x00" + account)
}

// budgetKey bounds a key's length: a longer one is hashed.
func budgetKey(k string) string {
	if len(k) > maxKeyLen {
		sum := sha256.Sum256([]byte(k))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// setRateLimitHeaders writes Zulip's X-RateLimit-* headers for the budgets
// applied: the smallest limit, the smallest remaining count, and the Unix
// time at which every applied budget is full again.
func setRateLimitHeaders(h http.Header, now time.Time, decs []Decision) {
	limit, remaining := decs[0].Limit, decs[0].Remaining
	var reset time.Duration
	for _, d := range decs {
		limit = min(limit, d.Limit)
		remaining = min(remaining, d.Remaining)
		reset = max(reset, d.ResetAfter)
	}
	// One string and one slice hold the three values: two allocations.
	var buf [64]byte
	b := strconv.AppendInt(buf[:0], int64(limit), 10)
	i := len(b)
	b = strconv.AppendInt(b, int64(remaining), 10)
	j := len(b)
	b = strconv.AppendInt(b, now.Add(reset).Unix(), 10)
	all := string(b)
	vals := []string{all[:i], all[i:j], all[j:]}
	h["X-Ratelimit-Limit"] = vals[0:1:1]
	h["X-Ratelimit-Remaining"] = vals[1:2:2]
	h["X-Ratelimit-Reset"] = vals[2:3:3]
}

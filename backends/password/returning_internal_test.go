package password

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"

	"github.com/zulipauth/zulipauth-go/backends/memstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

var t0 = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

func TestReturningUsersTTL(t *testing.T) {
	t.Parallel()
	r := newReturningUsers(10, time.Hour)
	k := r.key("", 7, netip.MustParseAddr("10.1.2.3"))
	if r.rememberedAt(k, t0) {
		t.Fatal("remembered before any login")
	}
	r.rememberAt(k, t0)
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"at once", t0, true},
		{"just within the TTL", t0.Add(time.Hour - time.Nanosecond), true},
		{"at the TTL", t0.Add(time.Hour), false},
		{"long after", t0.Add(48 * time.Hour), false},
	} {
		if got := r.rememberedAt(k, tc.at); got != tc.want {
			t.Errorf("%s: remembered %v, want %v", tc.name, got, tc.want)
		}
	}
	// Another correct login starts the TTL anew.
	r.rememberAt(k, t0.Add(50*time.Minute))
	if !r.rememberedAt(k, t0.Add(100*time.Minute)) {
		t.Error("a second login did not renew the TTL")
	}
	if r.rememberedAt(k, t0.Add(110*time.Minute)) {
		t.Error("remembered past the renewed TTL")
	}
}

func TestReturningUsersBound(t *testing.T) {
	t.Parallel()
	r := newReturningUsers(3, time.Hour)
	ip := netip.MustParseAddr("10.1.2.3")
	k := func(id int64) returningKey { return r.key("", id, ip) }
	for id := int64(1); id <= 3; id++ {
		r.rememberAt(k(id), t0)
	}
	r.rememberAt(k(1), t0.Add(time.Minute)) // renews 1's TTL, not its place
	r.rememberAt(k(4), t0.Add(time.Minute)) // full: 1, remembered first, goes
	r.rememberAt(k(5), t0.Add(time.Minute)) // then 2
	at := t0.Add(2 * time.Minute)
	for id, want := range map[int64]bool{1: false, 2: false, 3: true, 4: true, 5: true} {
		if got := r.rememberedAt(k(id), at); got != want {
			t.Errorf("user %d: remembered %v, want %v", id, got, want)
		}
	}
	if len(r.index) != 3 || len(r.ring) != 3 {
		t.Errorf("%d indexed, ring of %d; want 3 and 3", len(r.index), len(r.ring))
	}
	// Round the ring several times: the bound holds and the newest stay.
	for id := int64(100); id < 110; id++ {
		r.rememberAt(k(id), at)
	}
	for id := int64(100); id < 110; id++ {
		if got, want := r.rememberedAt(k(id), at), id >= 107; got != want {
			t.Errorf("user %d: remembered %v, want %v", id, got, want)
		}
	}
	if len(r.index) != 3 || len(r.ring) != 3 {
		t.Errorf("%d indexed, ring of %d; want 3 and 3", len(r.index), len(r.ring))
	}
}

func TestReturningUsersKey(t *testing.T) {
	t.Parallel()
	r := newReturningUsers(100, time.Hour)
	r.rememberAt(r.key("", 7, netip.MustParseAddr("10.1.2.3")), t0)
	r.rememberAt(r.key("lear", 8, netip.MustParseAddr("2001:db8:1:2::1")), t0)
	for _, tc := range []struct {
		name  string
		realm string
		id    int64
		ip    string
		want  bool
	}{
		{"same address", "", 7, "10.1.2.3", true},
		{"same /24", "", 7, "10.1.2.250", true},
		{"IPv4-mapped, same /24", "", 7, "::ffff:10.1.2.9", true},
		{"next /24", "", 7, "10.1.3.3", false},
		{"other user", "", 8, "10.1.2.3", false},
		{"other realm", "lear", 7, "10.1.2.3", false},
		{"same /64", "lear", 8, "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{"same /64, zoned", "lear", 8, "2001:db8:1:2::9%eth0", true},
		{"next /64", "lear", 8, "2001:db8:1:3::1", false},
		{"IPv6 user, other realm", "", 8, "2001:db8:1:2::1", false},
	} {
		if got := r.rememberedAt(r.key(tc.realm, tc.id, netip.MustParseAddr(tc.ip)), t0); got != tc.want {
			t.Errorf("%s: remembered %v, want %v", tc.name, got, tc.want)
		}
	}
	// No two sets share a seed: a hash tells nothing outside its process.
	if other := newReturningUsers(1, time.Hour); other.key("", 7, netip.MustParseAddr("10.1.2.3")) == r.key("", 7, netip.MustParseAddr("10.1.2.3")) {
		t.Error("two sets hash a pair alike")
	}
}

// An attempt without a client address (an Authenticator used outside
// zulipauth's handler, a test) is never remembered, so it can never reach
// the returning lane.
func TestReturningUsersZeroAddress(t *testing.T) {
	t.Parallel()
	r := newReturningUsers(10, time.Hour)
	k := r.key("", 7, netip.Addr{})
	if k.ok {
		t.Fatal("the zero address has a key")
	}
	r.rememberAt(k, t0)
	if r.rememberedAt(k, t0) || r.enterLaneAt(k, true, t0) || len(r.index) != 0 {
		t.Fatal("an attempt without an address was remembered")
	}
}

func TestReturningUsersLane(t *testing.T) {
	t.Parallel()
	r := newReturningUsers(10, time.Hour)
	home, office := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.0.2.1")
	seven, eight := r.key("", 7, home), r.key("", 8, home)
	r.rememberAt(seven, t0)
	r.rememberAt(r.key("", 7, office), t0)
	r.rememberAt(eight, t0)
	// An unknown user's key (id 0 here) must never use the lane, even if
	// its pair is remembered.
	zero := r.key("", 0, home)
	r.rememberAt(zero, t0)
	if r.enterLaneAt(zero, false, t0) {
		t.Fatal("an unknown user entered the lane")
	}
	if !r.enterLaneAt(seven, true, t0) {
		t.Fatal("a returning user did not enter the lane")
	}
	// One attempt per user at a time, from whichever network.
	if r.enterLaneAt(seven, true, t0) || r.enterLaneAt(r.key("", 7, office), true, t0) {
		t.Fatal("a second attempt of the same user entered the lane")
	}
	if !r.enterLaneAt(eight, true, t0) {
		t.Fatal("another user was kept out of the lane")
	}
	r.leaveLane(seven)
	if !r.enterLaneAt(r.key("", 7, office), true, t0) {
		t.Fatal("the lane was not left")
	}
	if r.enterLaneAt(r.key("", 9, home), true, t0) {
		t.Fatal("a user never seen entered the lane")
	}
	if r.enterLaneAt(eight, true, t0.Add(2*time.Hour)) {
		t.Fatal("an expired pair entered the lane")
	}
}

// saturated is an Authenticator with one slot, held by the test, and an
// ordinary queue of two, filled by two unknown users' attempts: a spray at
// its peak. iago logged in from 10.1.2.3 before it began.
type saturated struct {
	a       *Authenticator
	iago    zulipauth.User
	sprayed chan error
}

func newSaturated(t *testing.T, now func() time.Time, opts ...Option) *saturated {
	t.Helper()
	p := Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	store := memstore.New()
	a, err := New(store, append([]Option{WithParams(p), WithMaxConcurrent(1), WithMaxWaiting(2), WithInsecureFastFailures()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if now != nil {
		a.now = now
	}
	hash, _ := argon2id.CreateHash("correct horse", &p)
	iago, err := store.CreateUser(context.Background(), zulipauth.NewUser{Email: "iago@zulip.com", PasswordHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	s := &saturated{a: a, iago: iago, sprayed: make(chan error, 2)}
	if _, err := s.login("iago@zulip.com", "correct horse", "10.1.2.3"); err != nil {
		t.Fatalf("the login before the spray: %v", err)
	}
	if err := a.gate.enter(context.Background(), laneOrdinary, 64); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		go func() {
			_, err := s.login(fmt.Sprintf("nobody%d@zulip.com", i), "guess", fmt.Sprintf("203.0.113.%d", i))
			s.sprayed <- err
		}()
	}
	waitFor(t, func() bool { return a.gate.waiting(laneOrdinary) == 2 })
	return s
}

func (s *saturated) login(user, pw, ip string) (zulipauth.User, error) {
	return s.a.Authenticate(context.Background(), zulipauth.Attempt{Username: user, Password: pw, ClientIP: netip.MustParseAddr(ip)})
}

// finish checks that the sprayed attempts were verified and refused once
// the slot the test holds was left, then that the gate is idle.
func (s *saturated) finish(t *testing.T) {
	t.Helper()
	for range 2 {
		if err := <-s.sprayed; !errors.Is(err, zulipauth.ErrBadCredentials) {
			t.Errorf("sprayed attempt: %v, want ErrBadCredentials", err)
		}
	}
	checkIdle(t, s.a.gate, 1)
	if s.a.returning != nil && len(s.a.returning.inLane) != 0 {
		t.Errorf("%d users left in the lane", len(s.a.returning.inLane))
	}
}

// The spray: a full queue turned returning users away (0 of 10
// correct logins within 3 s). A returning user's correct login now waits in
// its own lane and gets the next slot; the same user from a network it never
// logged in from, an unknown user from the returning user's network, and a
// second attempt of the returning user while the first waits are all
// ordinary attempts and are turned away.
func TestReturningUserPassesASpray(t *testing.T) {
	t.Parallel()
	s := newSaturated(t, nil)
	returned := make(chan error, 1)
	go func() {
		u, err := s.login("Iago@zulip.com", "correct horse", "10.1.2.77")
		if err == nil && u.ID != s.iago.ID {
			err = fmt.Errorf("logged in as %d", u.ID)
		}
		returned <- err
	}()
	waitFor(t, func() bool { return s.a.gate.waiting(laneReturning) == 1 })
	for _, tc := range []struct{ name, user, pw, ip string }{
		{"the same user from a new network", "iago@zulip.com", "correct horse", "192.0.2.1"},
		{"an unknown user from the user's network", "nobody@zulip.com", "correct horse", "10.1.2.3"},
		{"a second attempt of the user in the lane", "iago@zulip.com", "guess", "10.1.2.3"},
	} {
		// Refused at once by the full ordinary queue: not waiting in the
		// returning lane, not after MaxWait.
		if _, err := s.login(tc.user, tc.pw, tc.ip); !errors.Is(err, zulipauth.ErrBusy) || !strings.Contains(err.Error(), "2 attempts already waiting") {
			t.Errorf("%s: %v, want ErrBusy from the ordinary queue", tc.name, err)
		}
	}
	// The slot goes to the returning user, ahead of the spray (the order is
	// TestGateReturningFirst's), then on to the spray.
	s.a.gate.leave(64)
	if err := <-returned; err != nil {
		t.Fatalf("the returning user's login: %v", err)
	}
	s.finish(t)
}

// In the returning lane a wrong password is verified and refused like
// anywhere else; only a correct login is remembered.
func TestReturningLaneVerifies(t *testing.T) {
	t.Parallel()
	s := newSaturated(t, nil)
	returned := make(chan error, 1)
	go func() {
		_, err := s.login("iago@zulip.com", "guess", "10.1.2.3")
		returned <- err
	}()
	waitFor(t, func() bool { return s.a.gate.waiting(laneReturning) == 1 })
	s.a.gate.leave(64)
	if err := <-returned; !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Fatalf("a wrong password in the lane: %v, want ErrBadCredentials", err)
	}
	s.finish(t)
	// Now with a free slot: a wrong password from a new network is not
	// remembered, a correct one is.
	office := s.a.returning.key("", s.iago.ID, netip.MustParseAddr("192.0.2.1"))
	if _, err := s.login("iago@zulip.com", "guess", "192.0.2.1"); !errors.Is(err, zulipauth.ErrBadCredentials) {
		t.Fatal(err)
	}
	if s.a.returning.rememberedAt(office, time.Now()) {
		t.Fatal("a network was remembered after a wrong password")
	}
	if _, err := s.login("iago@zulip.com", "correct horse", "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if !s.a.returning.rememberedAt(office, time.Now()) {
		t.Fatal("a correct login was not remembered")
	}
}

// WithoutReturningUsers: the old single queue, where the spray turns the
// returning user away too.
func TestWithoutReturningUsers(t *testing.T) {
	t.Parallel()
	s := newSaturated(t, nil, WithoutReturningUsers())
	if _, err := s.login("iago@zulip.com", "correct horse", "10.1.2.3"); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("got %v, want ErrBusy", err)
	}
	s.a.gate.leave(64)
	s.finish(t)
}

// The injected clock decides the TTL of Authenticate's memory.
func TestAuthenticateRemembersForTheTTL(t *testing.T) {
	t.Parallel()
	now := t0
	s := newSaturated(t, func() time.Time { return now }, WithReturningUsers(10, time.Hour))
	if k := s.a.returning.key("", s.iago.ID, netip.MustParseAddr("10.1.2.3")); !s.a.returning.rememberedAt(k, t0.Add(59*time.Minute)) {
		t.Fatal("the login before the spray was not remembered at the clock's time")
	}
	now = now.Add(time.Hour)
	if _, err := s.login("iago@zulip.com", "correct horse", "10.1.2.3"); !errors.Is(err, zulipauth.ErrBusy) {
		t.Fatalf("an hour later: %v, want ErrBusy (forgotten)", err)
	}
	s.a.gate.leave(64)
	s.finish(t)
}

// BenchmarkReturningUsers measures what the lane adds to a login, next to
// its 50 ms hash: lookup is key plus enterLaneAt (and leaveLane) for a
// remembered pair, as every attempt does, remember is a correct login's
// rememberAt, into a full set.
func BenchmarkReturningUsers(b *testing.B) {
	r := newReturningUsers(DefaultReturningUsers, DefaultReturningTTL)
	now := time.Now()
	for i := range DefaultReturningUsers {
		r.rememberAt(r.key("", int64(i), netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), 1})), now)
	}
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i = (i + 1) % DefaultReturningUsers
				k := r.key("", int64(i), netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), 1}))
				if r.enterLaneAt(k, true, now) {
					r.leaveLane(k)
				}
			}
		})
	})
	b.Run("remember", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				i++
				r.rememberAt(r.key("x", int64(i), netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})), now)
			}
		})
	})
}

// BenchmarkReturningUsersMemory reports the heap a full set of
// DefaultReturningUsers pairs takes, per pair: the figure the documentation
// of WithReturningUsers gives.
func BenchmarkReturningUsersMemory(b *testing.B) {
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := newReturningUsers(DefaultReturningUsers, DefaultReturningTTL)
		for i := range DefaultReturningUsers {
			r.rememberAt(r.key("", int64(i), netip.MustParseAddr("10.1.2.3")), t0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(after.HeapAlloc-before.HeapAlloc) / DefaultReturningUsers
		runtime.KeepAlive(r)
	}
	b.ReportMetric(perEntry, "B/entry")
}

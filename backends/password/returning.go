package password

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"sync"
	"time"
)

// Defaults of [WithReturningUsers].
const (
	// DefaultReturningUsers is how many (user, network) pairs are
	// remembered: 4.2 MB when full.
	DefaultReturningUsers = 100_000
	// DefaultReturningTTL is how long a correct login is remembered: 30
	// days. Zulip's clients keep their API key for long, so a user logs in
	// again only on a new device, after logging out or after a key or
	// password change; a month covers a user who does that now and then from
	// the same place, and lets a network the user has left (a trip, a
	// former job) stop counting within a month.
	DefaultReturningTTL = 30 * 24 * time.Hour
)

// Client networks: the address bits a pair keeps. A /24 holds a household's
// or an office's changing IPv4 addresses; a /64 is one IPv6 site, the unit
// zulipauth's per-address budget counts in too.
const (
	ipv4NetworkBits = 24
	ipv6NetworkBits = 64
)

// returningUsers remembers the (realm, user, client network) pairs that
// logged in recently, so that their next login waits in the gate's returning
// lane: a spray of new usernames from new addresses fills the ordinary lane
// and never this one.
//
// A pair is stored as a 64-bit hash keyed with a seed of this process's
// (maphash), so memory stays small and a memory dump does not list who
// logged in from where; a collision only puts one attempt in the wrong
// lane. The set holds at most max pairs, in a ring in the order they were
// first remembered: when it is full, the one remembered first goes. A pair
// logged in again keeps its place and starts its TTL anew. An entry costs 16
// bytes in the ring and 16 in the map, plus the map's slack: 42 to 56 bytes
// of heap once more than a few thousand are held, 42.5 at
// DefaultReturningUsers (BenchmarkReturningUsersMemory).
//
// It also keeps which users have an attempt in the returning lane, one at a
// time per user, so that a member who logs in over and over from many
// networks holds one place in that lane, not all of them. Safe for
// concurrent use.
type returningUsers struct {
	seed maphash.Seed
	ttl  time.Duration
	max  int

	mu     sync.Mutex
	index  map[uint64]int // pair -> its place in ring
	ring   []sighting     // grows to max; once full, ring[next] is the oldest
	next   int
	inLane map[uint64]struct{} // users with an attempt in the returning lane
}

// sighting is a remembered pair and the time of its last correct login.
type sighting struct {
	pair uint64
	at   int64 // Unix nanoseconds
}

// returningKey is an attempt's hashed identity: its user and its (user,
// network) pair. ok is false for an attempt without a usable client address,
// which is never remembered and never in the returning lane.
type returningKey struct {
	user, pair uint64
	ok         bool
}

func newReturningUsers(max int, ttl time.Duration) *returningUsers {
	return &returningUsers{
		seed:   maphash.MakeSeed(),
		ttl:    ttl,
		max:    max,
		index:  make(map[uint64]int),
		inLane: make(map[uint64]struct{}),
	}
}

// key hashes the user id of realm and the client network of ip (an
// IPv4-mapped address counts as IPv4, a zone is dropped).
func (r *returningUsers) key(realm string, userID int64, ip netip.Addr) returningKey {
	ip = ip.Unmap().WithZone("")
	bits := ipv6NetworkBits
	if ip.Is4() {
		bits = ipv4NetworkBits
	}
	network, err := ip.Prefix(bits)
	if err != nil || !ip.IsValid() {
		return returningKey{}
	}
	var h maphash.Hash
	h.SetSeed(r.seed)
	// Only the realm has a variable length, so no two (id, realm) or (id,
	// realm, network) triples hash the same bytes.
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(userID))
	h.Write(b[:])
	h.WriteString(realm)
	user := h.Sum64()
	addr := network.Addr().As16()
	h.Write(addr[:])
	h.WriteByte(byte(bits))
	return returningKey{user: user, pair: h.Sum64(), ok: true}
}

// rememberAt records a correct login of k at t.
func (r *returningUsers) rememberAt(k returningKey, t time.Time) {
	if !k.ok {
		return
	}
	at := t.UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	if i, ok := r.index[k.pair]; ok {
		r.ring[i].at = at
		return
	}
	if len(r.ring) < r.max {
		r.index[k.pair] = len(r.ring)
		r.ring = append(r.ring, sighting{k.pair, at})
		return
	}
	delete(r.index, r.ring[r.next].pair)
	r.ring[r.next] = sighting{k.pair, at}
	r.index[k.pair] = r.next
	r.next = (r.next + 1) % r.max
}

// rememberedAt reports whether k's pair logged in correctly within the TTL
// before t.
func (r *returningUsers) rememberedAt(k returningKey, t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recent(k, t)
}

// recent is rememberedAt with r.mu held.
func (r *returningUsers) recent(k returningKey, t time.Time) bool {
	i, ok := r.index[k.pair]
	return ok && k.ok && t.UnixNano()-r.ring[i].at < int64(r.ttl)
}

// enterLaneAt reports whether an attempt of k may wait in the returning
// lane at t: its user was found, its pair logged in correctly within the
// TTL, and no other attempt of the same user is in the lane. A true answer
// must be followed by leaveLane(k) once the attempt is over.
//
// The pair is looked up whether or not the user was found, so that the
// work done before the hash is the same for an unknown user as for a known
// one.
func (r *returningUsers) enterLaneAt(k returningKey, found bool, t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	recent := r.recent(k, t)
	_, taken := r.inLane[k.user]
	if !found || !recent || taken {
		return false
	}
	r.inLane[k.user] = struct{}{}
	return true
}

// leaveLane ends what enterLaneAt(k, ...) began.
func (r *returningUsers) leaveLane(k returningKey) {
	r.mu.Lock()
	delete(r.inLane, k.user)
	r.mu.Unlock()
}

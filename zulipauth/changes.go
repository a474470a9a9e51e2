package zulipauth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Change is one revocation a store recorded: a user deactivated or
// reactivated, given a new API key, or changed otherwise in a way that may
// stop its credentials (UserID set); or a realm changed (Realm set, UserID
// 0). Seq orders the changes; it grows with every change the store records.
type Change struct {
	Seq    int64
	UserID int64
	Realm  string
}

// ChangeFeed is implemented by stores that record every revocation in the
// same transaction as the change itself, so that every process caching
// what the store says about API keys can follow them: a deactivation or a
// new key made by any process (an admin command, another instance, the host
// application) then stops the old credentials everywhere within
// Config.ChangePollInterval, the API-key cache on, at the cost of one cheap
// indexed query per interval per process. backends/sqlstore and
// backends/memstore implement it; backends/storetest checks it (its ChangeFeed layer).
//
// LastChange returns the newest sequence number recorded, 0 when none.
// ChangesSince returns up to limit changes whose Seq is above after, oldest
// first; when changes after after were already pruned, it returns
// [ErrChangesPruned] and the follower forgets everything it cached. Both
// honour ctx.
type ChangeFeed interface {
	LastChange(ctx context.Context) (int64, error)
	ChangesSince(ctx context.Context, after int64, limit int) ([]Change, error)
}

// ErrChangesPruned is returned by [ChangeFeed.ChangesSince] when the store no
// longer holds every change after the one asked for.
var ErrChangesPruned = errors.New("zulipauth: changes were pruned")

// changesPerPoll bounds one read of the feed; a follower that is further
// behind reads again at once.
const changesPerPoll = 1000

// changeFollower applies a store's changes to the API-key and realm
// caches (either may be nil).
type changeFollower struct {
	feed     ChangeFeed
	keys     *apiKeyCache
	realms   *realmCache
	interval time.Duration
	a        *Auth

	last   int64 // the newest change applied
	failed bool  // the last read failed (logged once until one succeeds)

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// startChangeFollower reads where the feed stands, so that no change made
// from now on is missed, and follows it in a goroutine until Close.
func (a *Auth) startChangeFollower(feed ChangeFeed, interval time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := a.cfg.Now()
	last, err := feed.LastChange(ctx)
	if err != nil {
		return err
	}
	f := &changeFollower{feed: feed, keys: a.keys, realms: a.realms, interval: interval, a: a, last: last,
		stop: make(chan struct{}), done: make(chan struct{})}
	a.follower = f
	f.keys.vouch(start) // the caches are empty
	// The stats read the wall clock, as run does: they say when, to an
	// operator, not to the caches.
	a.stats.feedRead(time.Now(), last, false)
	go f.run()
	return nil
}

func (f *changeFollower) run() {
	defer close(f.done)
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
			start := time.Now()
			f.poll()
			f.a.stats.feedRead(start, f.last, f.failed)
		}
	}
}

// poll reads and applies the changes since the last one applied, until it
// has caught up, then vouches for what the API-key cache holds (see
// apiKeyCache): every entry a change made before the read began revoked is
// gone.
func (f *changeFollower) poll() {
	ctx, cancel := context.WithTimeout(context.Background(), f.interval*4)
	defer cancel()
	start := f.a.cfg.Now()
	for {
		changes, err := f.feed.ChangesSince(ctx, f.last, changesPerPoll)
		if errors.Is(err, ErrChangesPruned) {
			// Too far behind to know what changed: read where the store
			// stands, then forget everything, so that a change made
			// after the read is read at the next poll.
			last, lerr := f.feed.LastChange(ctx)
			if lerr != nil {
				f.fail(lerr)
				return
			}
			f.keys.forgetAll()
			f.realms.forgetAll()
			f.last = last
			f.caughtUp(start)
			return
		}
		if err != nil {
			f.fail(err)
			return
		}
		if len(changes) > 0 {
			f.keys.forgetChanges(changes)
			f.realms.forgetChanges(changes)
			f.last = changes[len(changes)-1].Seq
		}
		if len(changes) < changesPerPoll {
			f.caughtUp(start)
			return
		}
	}
}

// caughtUp vouches for the API-key cache as of start, when the read that
// caught up began, and logs the end of a run of failed reads.
func (f *changeFollower) caughtUp(start time.Time) {
	f.keys.vouch(start)
	if f.failed {
		f.failed = false
		f.a.cfg.Logger.Info("zulipauth: the store's change feed answers again; caught up", "seq", f.last)
	}
}

// fail empties the caches, since a change this read missed may have revoked
// anything in them, and logs the first of a run of failed reads. Until a
// read succeeds again nothing vouches for the API-key cache, and each failed
// read empties both caches again, so what they take in meanwhile holds for
// one poll at most.
func (f *changeFollower) fail(err error) {
	if !f.failed {
		f.failed = true
		f.a.cfg.Logger.Error("zulipauth: reading the store's change feed failed; the API-key and realm caches are emptied at every poll until it answers", "error", err)
	}
	f.keys.stopVouching()
	f.keys.forgetAll()
	f.realms.forgetAll()
}

// close stops the follower and waits for it.
func (f *changeFollower) close() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

// Close stops what New started: the goroutine that follows the store's
// changes (see [ChangeFeed]). The handlers keep working; the API-key cache
// then learns of other processes' changes only through its TTL: what it
// holds expires Config.APIKeyCacheTTL after the feed's last read. Close is
// safe to call more than once, and on an Auth that started nothing.
func (a *Auth) Close() error {
	if a.follower != nil {
		a.follower.close()
	}
	return nil
}

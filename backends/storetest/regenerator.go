package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// regeneratorTests check zulipauth.APIKeyRegenerator.
var regeneratorTests = []test{
	{"RegenerateAPIKey", nil, testRegenerateAPIKey},
	{"UnknownUserID", nil, testRegenerateUnknownID},
	{"CancelledContext", nil, testCancelledRegenerate},
	{"ConcurrentRegenerate", nil, testConcurrentRegenerate},
}

// testRegenerateAPIKey: the old key stops working at once, the new one finds
// the user, and nothing else changes.
func testRegenerateAPIKey(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	other := f.seed(t, "", "hamlet@zulip.com")
	seen := map[string]bool{u.APIKey: true, other.APIKey: true}
	old := u.APIKey
	for i := range 3 {
		key, err := f.regenerator().RegenerateAPIKey(t.Context(), u.ID)
		if err != nil {
			t.Fatalf("RegenerateAPIKey #%d: %v", i, err)
		}
		if !zulipauth.ValidAPIKeyFormat(key) {
			t.Errorf("RegenerateAPIKey #%d = %q, not 32 characters of [A-Za-z0-9]", i, key)
		}
		if seen[key] {
			t.Errorf("RegenerateAPIKey #%d = %q, a key given before", i, key)
		}
		seen[key] = true
		_, err = f.store.UserByAPIKey(t.Context(), old)
		wantErr(t, "UserByAPIKey(old key)", err, zulipauth.ErrUserNotFound)
		u.APIKey = key
		checkStored(t, f.store, u)
		checkStored(t, f.store, other)
		old = key
	}
}

// testRegenerateUnknownID: an id nobody has is ErrUserNotFound and changes
// nobody's key.
func testRegenerateUnknownID(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	for _, id := range unknownIDs(u) {
		_, err := f.regenerator().RegenerateAPIKey(t.Context(), id)
		wantErr(t, fmt.Sprintf("RegenerateAPIKey(%d)", id), err, zulipauth.ErrUserNotFound)
	}
	checkStored(t, f.store, u)
}

// testCancelledRegenerate: with a cancelled context the key stays.
func testCancelledRegenerate(t *testing.T, f *fixture) {
	u := f.seed(t, "", "iago@zulip.com")
	_, err := f.regenerator().RegenerateAPIKey(cancelled(t), u.ID)
	writeFails(t, "RegenerateAPIKey", err)
	checkStored(t, f.store, u)
}

// testConcurrentRegenerate: while keys are regenerated, readers only ever see
// the right user with a well-formed key, a key either finds its user or is
// ErrUserNotFound, and at the end only the last key of each user works.
func testConcurrentRegenerate(t *testing.T, f *fixture) {
	const (
		nUsers   = 4
		rounds   = 20
		readers  = 4
		maxReads = 400 // per reader, to keep the test bounded
	)
	users := make([]zulipauth.User, nUsers)
	for i := range users {
		users[i] = f.seed(t, "", fmt.Sprintf("regen%d@example.com", i))
	}
	history := make([][]string, nUsers)
	var (
		writers, readersWG sync.WaitGroup
		done               atomic.Bool
	)
	for i, u := range users {
		history[i] = []string{u.APIKey}
		writers.Go(func() {
			for r := range rounds {
				key, err := f.regenerator().RegenerateAPIKey(t.Context(), u.ID)
				if err != nil {
					t.Errorf("user %d: RegenerateAPIKey #%d: %v", u.ID, r, err)
					return
				}
				history[i] = append(history[i], key)
			}
		})
	}
	for r := range readers {
		readersWG.Go(func() {
			for n := 0; n < maxReads && !done.Load(); n++ {
				u := users[(r+n)%nUsers]
				got, err := f.store.UserByEmail(t.Context(), "", u.Email)
				if err != nil {
					t.Errorf("UserByEmail(%q) during regeneration: %v", u.Email, err)
					return
				}
				if got.ID != u.ID || !zulipauth.ValidAPIKeyFormat(got.APIKey) {
					t.Errorf("UserByEmail(%q) during regeneration = user %d with key %q, want user %d", u.Email, got.ID, got.APIKey, u.ID)
					return
				}
				byKey, err := f.store.UserByAPIKey(t.Context(), got.APIKey)
				switch {
				case errors.Is(err, zulipauth.ErrUserNotFound):
					// Regenerated between the two reads.
				case err != nil:
					t.Errorf("UserByAPIKey during regeneration: %v", err)
					return
				case byKey.ID != u.ID:
					t.Errorf("UserByAPIKey(key of user %d) = user %d", u.ID, byKey.ID)
					return
				}
			}
		})
	}
	writers.Wait()
	done.Store(true)
	readersWG.Wait()
	if t.Failed() {
		return
	}

	seen := make(map[string]bool)
	for i, u := range users {
		keys := history[i]
		for j, key := range keys {
			if seen[key] {
				t.Errorf("key %q given twice", key)
			}
			seen[key] = true
			got, err := f.store.UserByAPIKey(t.Context(), key)
			if j < len(keys)-1 {
				wantErr(t, fmt.Sprintf("UserByAPIKey(key #%d of %d of user %d)", j, len(keys), u.ID), err, zulipauth.ErrUserNotFound)
				continue
			}
			if err != nil || got.ID != u.ID {
				t.Errorf("UserByAPIKey(last key of user %d) = user %d, %v", u.ID, got.ID, err)
			}
		}
		if got := byEmail(t, f.store, "", u.Email); got.APIKey != keys[len(keys)-1] {
			t.Errorf("user %d: UserByEmail has key %q, the last regenerated was %q", u.ID, got.APIKey, keys[len(keys)-1])
		}
	}
}

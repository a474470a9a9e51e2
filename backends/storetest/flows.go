package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// flowStoreTests check zulipauth.FlowStore: a sign-on flow is kept until it
// expires and taken at most once, even by racing requests, so that a
// provider's answer replayed (on this instance or another) finds nothing;
// and a token is put once, so that an answer recorded as used (a SAML
// assertion's ID) cannot be recorded again by a replay.
var flowStoreTests = []test{
	{"PutAndTake", nil, testFlowPutAndTake},
	{"TakenOnce", nil, testFlowTakenOnce},
	{"Expires", nil, testFlowExpires},
	{"RacingTakers", nil, testFlowRacingTakers},
	{"PutKeepsTheFirst", nil, testFlowPutKeepsTheFirst},
	{"RacingPutters", nil, testFlowRacingPutters},
	{"CancelledContext", nil, testFlowCancelled},
}

func (f *fixture) flows() zulipauth.FlowStore { return f.store.(zulipauth.FlowStore) }

// now is the instant a flow test takes as now, given to TakeFlow. It is
// the real clock's (a store may drop the flows its own clock says have
// expired), truncated to the millisecond a store may keep expiries in.
func now() time.Time { return time.Now().Truncate(time.Millisecond) }

func putFlow(t *testing.T, s zulipauth.FlowStore, token string, value []byte, expires time.Time) {
	t.Helper()
	if err := s.PutFlow(t.Context(), token, value, expires); err != nil {
		t.Fatalf("PutFlow(%q): %v", token, err)
	}
}

// testFlowPutAndTake: a value comes back byte for byte, under its token
// alone, and an unknown token is ErrFlowNotFound.
func testFlowPutAndTake(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	value := []byte(`{"kind":"flow","nonce":"n"}` + "\x00\xff")
	putFlow(t, s, "token-a", value, flowNow.Add(time.Minute))
	putFlow(t, s, "token-b", []byte("other"), flowNow.Add(time.Minute))
	value[0] = 'X' // the store keeps what was put, not the caller's slice
	got, err := s.TakeFlow(t.Context(), "token-a", flowNow)
	if err != nil || !bytes.Equal(got, []byte(`{"kind":"flow","nonce":"n"}`+"\x00\xff")) {
		t.Fatalf("TakeFlow(token-a) = %q, %v; want the value put", got, err)
	}
	_, err = s.TakeFlow(t.Context(), "no-such-token", flowNow)
	wantErr(t, "TakeFlow(an unknown token)", err, zulipauth.ErrFlowNotFound)
	if got, err := s.TakeFlow(t.Context(), "token-b", flowNow); err != nil || string(got) != "other" {
		t.Fatalf("TakeFlow(token-b) = %q, %v; want the other value", got, err)
	}
}

// testFlowTakenOnce: a taken flow is gone.
func testFlowTakenOnce(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	putFlow(t, s, "once", []byte("v"), flowNow.Add(time.Minute))
	if _, err := s.TakeFlow(t.Context(), "once", flowNow); err != nil {
		t.Fatalf("first TakeFlow: %v", err)
	}
	_, err := s.TakeFlow(t.Context(), "once", flowNow)
	wantErr(t, "a second TakeFlow", err, zulipauth.ErrFlowNotFound)
}

// testFlowExpires: at or after its expiry a flow is not found, and stays
// not found.
func testFlowExpires(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	putFlow(t, s, "expiring", []byte("v"), flowNow)
	_, err := s.TakeFlow(t.Context(), "expiring", flowNow)
	wantErr(t, "TakeFlow at the flow's expiry", err, zulipauth.ErrFlowNotFound)
	_, err = s.TakeFlow(t.Context(), "expiring", flowNow.Add(-time.Hour))
	wantErr(t, "TakeFlow after an expired TakeFlow", err, zulipauth.ErrFlowNotFound)
	putFlow(t, s, "later", []byte("v"), flowNow.Add(time.Second))
	if _, err := s.TakeFlow(t.Context(), "later", flowNow.Add(time.Second-time.Millisecond)); err != nil {
		t.Fatalf("TakeFlow a millisecond before expiry: %v", err)
	}
}

// testFlowRacingTakers: of many requests taking one flow at once, exactly
// one gets it: a replay racing the real answer gets nothing.
func testFlowRacingTakers(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	for round := range 20 {
		token := fmt.Sprintf("raced-%d", round)
		putFlow(t, s, token, []byte("v"), flowNow.Add(time.Minute))
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 8 {
			wg.Go(func() {
				_, err := s.TakeFlow(t.Context(), token, flowNow)
				if err != nil && !errors.Is(err, zulipauth.ErrFlowNotFound) {
					t.Errorf("TakeFlow: %v", err)
				}
				if err == nil {
					mu.Lock()
					won++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("round %d: %d of 8 racing takers got the flow, want exactly 1", round, won)
		}
	}
}

// testFlowCancelled: with a cancelled context TakeFlow fails and does not
// claim "not found"... nor take the flow.
func testFlowCancelled(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	putFlow(t, s, "kept", []byte("v"), flowNow.Add(time.Minute))
	if _, err := s.TakeFlow(cancelled(t), "kept", flowNow); err == nil || errors.Is(err, zulipauth.ErrFlowNotFound) {
		t.Errorf("TakeFlow with a cancelled context = %v, want the context's error", err)
	}
	if _, err := s.TakeFlow(t.Context(), "kept", flowNow); err != nil {
		t.Errorf("the flow is gone after a cancelled TakeFlow: %v", err)
	}
}

// testFlowPutKeepsTheFirst: a second put of a kept token is ErrFlowExists
// and leaves the first value; once the first expired, the token may be put
// again.
func testFlowPutKeepsTheFirst(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	putFlow(t, s, "first", []byte("one"), flowNow.Add(time.Minute))
	err := s.PutFlow(t.Context(), "first", []byte("two"), flowNow.Add(time.Hour))
	wantErr(t, "a second PutFlow of a kept token", err, zulipauth.ErrFlowExists)
	if got, err := s.TakeFlow(t.Context(), "first", flowNow); err != nil || string(got) != "one" {
		t.Fatalf("TakeFlow = %q, %v; want the first value", got, err)
	}
	putFlow(t, s, "first", []byte("three"), flowNow.Add(time.Minute)) // taken: free again
	putFlow(t, s, "stale", []byte("old"), time.Now().Add(-time.Second))
	putFlow(t, s, "stale", []byte("new"), flowNow.Add(time.Minute)) // expired: free again
	if got, err := s.TakeFlow(t.Context(), "stale", flowNow); err != nil || string(got) != "new" {
		t.Fatalf("TakeFlow of a token put again after expiry = %q, %v; want the new value", got, err)
	}
}

// testFlowRacingPutters: of many puts of one token at once, exactly one
// succeeds and the rest are ErrFlowExists: one assertion replayed on two
// instances at once is accepted by one.
func testFlowRacingPutters(t *testing.T, f *fixture) {
	s, flowNow := f.flows(), now()
	for round := range 20 {
		token := fmt.Sprintf("put-raced-%d", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := []string{}
		for i := range 8 {
			wg.Go(func() {
				v := fmt.Sprint(i)
				err := s.PutFlow(t.Context(), token, []byte(v), flowNow.Add(time.Minute))
				if err != nil && !errors.Is(err, zulipauth.ErrFlowExists) {
					t.Errorf("PutFlow: %v", err)
				}
				if err == nil {
					mu.Lock()
					winners = append(winners, v)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d of 8 racing puts succeeded, want exactly 1", round, len(winners))
		}
		if got, err := s.TakeFlow(t.Context(), token, flowNow); err != nil || string(got) != winners[0] {
			t.Fatalf("round %d: TakeFlow = %q, %v; want the winner's %q", round, got, err, winners[0])
		}
	}
}

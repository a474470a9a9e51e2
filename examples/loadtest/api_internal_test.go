package main

import (
	"context"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// TestAPIBaselineAnswersAsTheServer pins what the api scenario's ratio
// relies on: the users-me baseline, given the typical seeded user through
// -baseline-user, answers the scenario's request with the bytes the server
// answers it with for that user, so that the two differ by the middleware
// alone. Before, the baseline answered for a fixed user with a shorter
// email than the scenario's users, and wrote a shorter body.
func TestAPIBaselineAnswersAsTheServer(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "zulipauth.db")
	ns := namespace{tag: "test0"}
	users, typical, err := seedUsers(ctx, db, usersWithHash(ns, "api", 12, ""))
	if err != nil {
		t.Fatal(err)
	}
	mid := users[len(users)/2]
	if typical.Email != mid.Email || typical.APIKey != mid.APIKey || typical.ID == 0 {
		t.Fatalf("typical = %v, want the middle one of %d users, read back", typical, len(users))
	}
	s, err := startInProcess(ctx, db, io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	u, err := parseBaselineUser(baselineUserFlag(typical))
	if err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(baselineHandlers["users-me"](u))
	defer bare.Close()

	get := func(host string, a account) (int, string) {
		t.Helper()
		conn := newHTTPConn(host)
		defer conn.close()
		ans, err := conn.roundTrip(appendAPIRequest(nil, host, "/api/v1/users/me", basicAuth(a.Email, a.APIKey)))
		if err != nil {
			t.Fatal(err)
		}
		return ans.status, string(ans.body)
	}
	a := mid
	gotStatus, got := get(bare.Listener.Addr().String(), a)
	wantStatus, want := get(s.host, a)
	if wantStatus != 200 || gotStatus != wantStatus || got != want {
		t.Errorf("the baseline answered %d %s\nthe server %d %s", gotStatus, got, wantStatus, want)
	}
}

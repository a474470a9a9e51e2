package ldap_test

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap"
	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// typedPassword is the password of the failed logins below, looked for in
// every log and error: none may show it.
const typedPassword = "typed-Secret-4711"

// dupLDIF adds two entries with uid=dup: a username that matches several.
var dupLDIF = slapdtest.Person("uid=dup,"+slapdtest.People, "dup", "Dup One", "dup1@zulip.com", "dup-password") + "\n\n" +
	slapdtest.Person("uid=dup,ou=bots,"+slapdtest.People, "dup", "Dup Two", "dup2@zulip.com", "dup-password")

// Regression test for a user-enumeration timing leak: a username the
// search found no entry for was answered at once, without the bind that a
// wrong password costs, so under the load harness an unknown user's
// median answer came 17% sooner than a known user's with a wrong password.
// Now every failure that reaches the directory sends it what a wrong
// password does, as slapd's own log shows: the same searches, then one
// bind, which slapd refuses with invalidCredentials (49), the answer
// bindNoEntry relies on for a DN without an entry.
func TestNoEntryCostsWhatAWrongPasswordCosts(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{LogLevel: "stats", LDIF: dupLDIF})
	var logged syncBuf
	cfg := searchConfig(d, storeWith(t, slapdtest.HamletMail))
	cfg.MaxConns = 1 // every operation on the two connections the warm-up opens
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	a := newAuth(t, cfg)
	if _, err := a.Authenticate(t.Context(), attempt(slapdtest.HamletUID, slapdtest.HamletPassword)); err != nil {
		t.Fatal(err)
	}
	// Its three operations (the service account's bind, the search, the
	// bind) all in the log, so that none is taken for the first case's.
	if ops := slapdOps(t, d, 0, 3); len(ops) != 3 {
		t.Fatalf("the warm-up login sent %v, want 3 operations", ops)
	}
	noEntry := ldap.NoEntryDN(a)
	search := slapdOp{"SRCH", d.BaseDN, 0}
	bindAs := func(dn string) slapdOp { return slapdOp{"BIND", dn, 49} }
	tests := []struct {
		name, username string
		want           []slapdOp
	}{
		{"wrong password", slapdtest.HamletUID, []slapdOp{search, bindAs(slapdtest.HamletDN)}},
		{"no entry", "nobody", []slapdOp{search, bindAs(noEntry)}},
		{"several entries", "dup", []slapdOp{search, bindAs(noEntry)}},
		// The search by email, then by uid: the second runs even when the
		// first found the entry.
		{"email, wrong password", slapdtest.HamletMail, []slapdOp{search, search, bindAs(slapdtest.HamletDN)}},
		{"email without an entry", "nobody@zulip.com", []slapdOp{search, search, bindAs(noEntry)}},
		{"email of two entries", slapdtest.TwinsMail, []slapdOp{search, search, bindAs(noEntry)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { // one at a time: they share the log
			from := len(d.Log())
			_, err := a.Authenticate(t.Context(), attempt(tt.username, typedPassword))
			if !errors.Is(err, zulipauth.ErrBadCredentials) {
				t.Fatalf("Authenticate(%q) = %v, want ErrBadCredentials", tt.username, err)
			}
			got := slapdOps(t, d, from, len(tt.want))
			if !sameOps(got, tt.want) {
				t.Fatalf("Authenticate(%q) sent %v, want %v", tt.username, got, tt.want)
			}
		})
	}
	// The no-entry binds left the bind connection as failed binds do: kept,
	// reused, and fit for the next user's bind.
	if _, err := a.Authenticate(t.Context(), attempt(slapdtest.HamletUID, slapdtest.HamletPassword)); err != nil {
		t.Fatalf("a login after the failed ones: %v", err)
	}
	if n := ldap.Dials(a); n != 2 {
		t.Errorf("%d connections opened, want 2: one per pool, reused by every login", n)
	}
	if !strings.HasPrefix(noEntry, "cn=zulipauth-no-entry-") || !strings.HasSuffix(noEntry, ","+d.BaseDN) {
		t.Errorf("the DN bound to for no entry is %q, want cn=zulipauth-no-entry-...,%s", noEntry, d.BaseDN)
	}
	for name, text := range map[string]string{"the Authenticator's log": logged.String(), "slapd's log": d.Log()} {
		if strings.Contains(text, typedPassword) {
			t.Errorf("%s shows the password:\n%s", name, text)
		}
	}
}

// Regression test: the bind of a username without an entry fails as a
// real bind does when the directory does not take it. Had bindNoEntry
// dropped its bind's errors (it fails anyway), binds that are refused or
// time out would answer an unknown user 401 and a known one 500, which
// tells them apart as well as the timing did. The searches run on one
// directory and the binds on another (with the same entries), so that the
// binds alone fail; each state is checked for a known user with a wrong
// password and for an unknown one, from Authenticate and through the
// login handler (faults 500 and logged, busy 429), without the password in
// any error or log.
func TestNoEntryBindFaults(t *testing.T) {
	t.Parallel()
	d := slapdtest.Start(t, slapdtest.Options{})
	binds := slapdtest.Start(t, slapdtest.Options{})
	users := storeWith(t, slapdtest.HamletMail)
	var logged syncBuf
	cfg := searchConfig(d, users)
	cfg.MaxConns, cfg.Timeout = 1, 300*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	a := newAuth(t, cfg)
	ldap.BindsTo(a, strings.TrimPrefix(binds.URL, "ldap://"))
	h := loginHandler(t, users, a, &logged).FetchAPIKeyHandler()
	fault := func(err error) bool { return checkErr(err, errFault) }
	check := func(state string, want func(error) bool, wantStatus int) {
		t.Helper()
		for _, username := range []string{slapdtest.HamletUID, "nobody"} {
			_, err := login(t, a, t.Context(), username, typedPassword)
			if !want(err) {
				t.Errorf("%s: Authenticate(%q) = %v", state, username, err)
			}
			if err != nil && strings.Contains(err.Error(), typedPassword) {
				t.Errorf("%s: the error shows the password: %v", state, err)
			}
			if status, body := postLogin(t, h, username, typedPassword); status != wantStatus {
				t.Errorf("%s: fetch_api_key for %q: %d %v, want %d", state, username, status, body, wantStatus)
			}
		}
	}

	check("binds answered", func(err error) bool { return errors.Is(err, zulipauth.ErrBadCredentials) }, http.StatusUnauthorized)
	release := ldap.HoldBinds(a)
	check("every bind connection busy", func(err error) bool { return errors.Is(err, zulipauth.ErrBusy) }, http.StatusTooManyRequests)
	release()
	binds.Pause()
	check("binds hung", func(err error) bool { return fault(err) && errors.Is(err, os.ErrDeadlineExceeded) }, http.StatusInternalServerError)
	binds.Resume()
	binds.Stop()
	check("binds refused", fault, http.StatusInternalServerError)

	text := logged.String()
	if strings.Contains(text, typedPassword) {
		t.Errorf("the log shows the password:\n%s", text)
	}
	// The handler logged its four 500s, the hung bind of no entry's as such.
	if n := strings.Count(text, "level=ERROR"); n != 4 || !strings.Contains(text, "binding as "+ldap.NoEntryDN(a)) {
		t.Errorf("the log has %d errors, want the 4 faults logged, one naming %s:\n%s", n, ldap.NoEntryDN(a), text)
	}
}

// slapdOp is an operation as slapd's "stats" log shows it: BIND with the
// DN bound to, or SRCH with its base, and the result code it answered.
type slapdOp struct {
	kind string
	dn   string
	err  int
}

func sameOps(got, want []slapdOp) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].kind != want[i].kind || !strings.EqualFold(got[i].dn, want[i].dn) || got[i].err != want[i].err {
			return false
		}
	}
	return true
}

var (
	statsRequest = regexp.MustCompile(`conn=(\d+) op=(\d+) (BIND|SRCH) (?:dn|base)="([^"]*)"`)
	statsResult  = regexp.MustCompile(`conn=(\d+) op=(\d+) (?:SEARCH )?RESULT tag=\d+ err=(\d+)`)
)

// slapdLogGuard bounds the wait for slapd's log of operations that were
// answered already: its lines reach the test through a pipe, a moment
// after the answers. It only turns a missing operation into a failure.
const slapdLogGuard = 10 * time.Second

// slapdOps is the operations in d's log after its first from bytes, in the
// order they arrived, once want of them have their results or
// slapdLogGuard has passed.
func slapdOps(t *testing.T, d *slapdtest.Directory, from, want int) []slapdOp {
	t.Helper()
	for deadline := time.Now().Add(slapdLogGuard); ; time.Sleep(5 * time.Millisecond) {
		ops, done := parseStats(d.Log()[from:])
		if done >= want || time.Now().After(deadline) {
			return ops
		}
	}
}

// parseStats reads operations from a "stats" log, and counts those with a
// result. An operation without one has err -1.
func parseStats(log string) (ops []slapdOp, done int) {
	index := map[string]int{} // "conn op" to its place in ops
	for _, line := range strings.Split(log, "\n") {
		if m := statsRequest.FindStringSubmatch(line); m != nil {
			key := m[1] + " " + m[2]
			if _, seen := index[key]; !seen { // a BIND has two lines
				index[key] = len(ops)
				ops = append(ops, slapdOp{m[3], m[4], -1})
			}
		} else if m := statsResult.FindStringSubmatch(line); m != nil {
			if i, ok := index[m[1]+" "+m[2]]; ok && ops[i].err < 0 {
				ops[i].err, _ = strconv.Atoi(m[3])
				done++
			}
		}
	}
	return ops, done
}

package main_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The item 5: no log line of any process of a full run of every
// scenario shows a password, an API key, a hash, a JWT key or token, or the
// LDAP service password. The harness keeps every child's log with -log-dir
// and lists what it used and received in secrets.json; the test reads the
// list and scans every log, and the harness's own output, for each secret
// in every form a log could show it.

// needle is one form of a secret the scan looks for. Its what names it in
// a finding (the secret's kind, its index and the form), never the value:
// a test's output is a log too. The name is made only for a finding: a
// short run has some 100,000 needles, and under -race formatting each
// name took seconds.
type needle struct {
	kind  string // "" for a marker
	index int
	form  string
	text  []byte
}

// what names the needle in a finding.
func (n needle) what() string {
	if n.kind == "" {
		return n.form
	}
	return fmt.Sprintf("%s[%d] %s", n.kind, n.index, n.form)
}

// markers are found whatever the run's secrets: the prefix of any argon2id
// hash (a user's, upgraded or not) and of an OpenLDAP {SSHA} userPassword.
var markers = []needle{
	{form: "an argon2id hash ($argon2id$)", text: []byte("$argon2id$")},
	{form: "an OpenLDAP password hash ({SSHA})", text: []byte("{SSHA}")},
}

// forms are the ways a log could show secret: as it is, and as code that
// prints it might encode it (a form or a URL, JSON or Go quoting, base64
// and hex of its bytes), each once.
func forms(secret string) []needle {
	all := []needle{{form: "as is", text: []byte(secret)}}
	// A secret of unreserved characters only (an API key) reads the same
	// escaped and quoted: its escapes are left out, which saves most of the
	// seconds that making the needles of a short run's 50,000 keys took
	// under -race.
	if !unreserved(secret) {
		quotedJSON, _ := json.Marshal(secret)
		quotedGo := strconv.Quote(secret)
		all = append(all,
			needle{form: "form-encoded", text: []byte(url.QueryEscape(secret))},
			needle{form: "URL-escaped", text: []byte(url.PathEscape(secret))},
			needle{form: "JSON-quoted", text: quotedJSON[1 : len(quotedJSON)-1]},
			needle{form: "Go-quoted", text: []byte(quotedGo[1 : len(quotedGo)-1])},
		)
	}
	all = append(all,
		// Unpadded: a prefix of the padded form, so it finds both.
		needle{form: "base64", text: []byte(base64.RawStdEncoding.EncodeToString([]byte(secret)))},
		needle{form: "base64url", text: []byte(base64.RawURLEncoding.EncodeToString([]byte(secret)))},
		needle{form: "hex", text: []byte(hex.EncodeToString([]byte(secret)))},
		needle{form: "HEX", text: []byte(strings.ToUpper(hex.EncodeToString([]byte(secret))))},
	)
	var out []needle
	for _, n := range all {
		if !slices.ContainsFunc(out, func(o needle) bool { return bytes.Equal(o.text, n.text) }) {
			out = append(out, n)
		}
	}
	return out
}

// unreserved reports whether s has only URL-unreserved characters
// ([A-Za-z0-9-._~]), which no escape or quoting changes.
func unreserved(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// needlesOf is every form of every secret of secrets.json, and the markers.
func needlesOf(secrets map[string][]string) []needle {
	out := slices.Clone(markers)
	for kind, values := range secrets {
		for i, v := range values {
			for _, f := range forms(v) {
				f.kind, f.index = kind, i
				out = append(out, f)
			}
		}
	}
	return out
}

// prefixLen is the length of the prefix that indexes the needles.
const prefixLen = 8

// scanner finds needles in logs. The needles are indexed by their first
// eight bytes, so that a log is read once however many secrets there are
// (thousands of API keys); shorter needles are searched one by one.
type scanner struct {
	byPrefix map[uint64][]needle
	short    []needle
}

func newScanner(needles []needle) *scanner {
	s := &scanner{byPrefix: map[uint64][]needle{}}
	for _, n := range needles {
		if len(n.text) < prefixLen {
			s.short = append(s.short, n)
			continue
		}
		p := binary.LittleEndian.Uint64(n.text)
		s.byPrefix[p] = append(s.byPrefix[p], n)
	}
	return s
}

// finding is a needle found in a log: where, and what.
type finding struct {
	line int
	what string
}

// scan returns every needle in data, with its line, once per line.
func (s *scanner) scan(data []byte) []finding {
	var out []finding
	add := func(at int, what string) {
		f := finding{line: 1 + bytes.Count(data[:at], []byte("\n")), what: what}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	for i := 0; i+prefixLen <= len(data); i++ {
		for _, n := range s.byPrefix[binary.LittleEndian.Uint64(data[i:])] {
			if bytes.HasPrefix(data[i:], n.text) {
				add(i, n.what())
			}
		}
	}
	for _, n := range s.short {
		for from := 0; ; {
			j := bytes.Index(data[from:], n.text)
			if j < 0 {
				break
			}
			add(from+j, n.what())
			from += j + 1
		}
	}
	return out
}

// TestScanFindsPlantedSecrets: the scan finds each secret, in each form,
// wherever it stands in a log, and nothing in a clean one. It pins the
// scanner that TestNoSecretsInLogs trusts to pass only a clean run.
func TestScanFindsPlantedSecrets(t *testing.T) {
	t.Parallel()
	const key = "Hk3vQ9ZrT0bW7mYx2LcNpA5sJ8dEfGu1" // an API key's shape: 32 of [A-Za-z0-9]
	const pw = "correct horse battery staple"
	s := newScanner(needlesOf(map[string][]string{
		"api_keys":  {key},
		"passwords": {pw},
		"short":     {"s3cr"}, // under prefixLen: the one-by-one path
	}))
	clean := "time=2026-12-01T23:38:39Z level=INFO msg=serving addr=http://127.0.0.1:40339\n" +
		"time=2026-12-01T23:38:40Z level=INFO msg=\"login failed\" username=u1@zulip.test code=AUTHENTICATION_FAILED\n"
	for _, tc := range []struct {
		name, log string
		want      []finding
	}{
		{"clean", clean, nil},
		{"a key as is", clean + "api_key=" + key + "\n", []finding{{3, "api_keys[0] as is"}}},
		{"a key at the very end", clean + key, []finding{{3, "api_keys[0] as is"}}},
		{"a key at the very start", key + "\n" + clean, []finding{{1, "api_keys[0] as is"}}},
		{"a password form-encoded", clean + "body=username%3Du&password=" + url.QueryEscape(pw) + "\n", []finding{{3, "passwords[0] form-encoded"}}},
		{"a password URL-escaped", "GET /x?p=" + url.PathEscape(pw) + "\n", []finding{{1, "passwords[0] URL-escaped"}}},
		{"a key in base64", clean + "auth=" + base64.StdEncoding.EncodeToString([]byte(key)) + "\n", []finding{{3, "api_keys[0] base64"}}},
		{"a password in hex", clean + "raw=" + hex.EncodeToString([]byte(pw)) + "\n", []finding{{3, "passwords[0] hex"}}},
		{"a short secret", "x=s3cr\n", []finding{{1, "short[0] as is"}}},
		{"any argon2id hash", clean + "hash=$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA\n", []finding{{3, markers[0].what()}}},
		{"an SSHA hash", "userPassword: {SSHA}abc\n", []finding{{1, markers[1].what()}}},
		{"twice on a line, once found", key + " " + key + "\n", []finding{{1, "api_keys[0] as is"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.scan([]byte(tc.log)); !slices.Equal(got, tc.want) {
				t.Errorf("scan found %v, want %v", got, tc.want)
			}
		})
	}
}

// loadSecrets reads secrets.json of a run's -log-dir.
func loadSecrets(t *testing.T, dir string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "secrets.json"))
	if err != nil {
		t.Fatalf("the harness wrote no secrets.json into -log-dir: %v", err)
	}
	var secrets map[string][]string
	if err := json.Unmarshal(b, &secrets); err != nil {
		t.Fatalf("secrets.json: %v", err)
	}
	return secrets
}

// apiKeyRE is the shape of an API key.
var apiKeyRE = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// checkSecretsListed: the run used and recorded every kind of secret the
// scan must look for, so that a scan of a run that skipped one (or a
// harness that stopped recording it) cannot pass for lack of needles.
func checkSecretsListed(t *testing.T, secrets map[string][]string, run *shortRun) {
	t.Helper()
	atLeast := map[string]int{
		"passwords":         2, // the users' and the wrong one
		"api_keys":          1000,
		"basic_credentials": 100,
		"password_hashes":   1,
		"jwt_keys":          1,
		"jwt_keys_files":    1,
		"jwt_tokens":        7, // 4 valid, 3 refused, per logins run
	}
	if run.ldap {
		atLeast["ldap_service_passwords"] = 1
	}
	for kind, n := range atLeast {
		if len(secrets[kind]) < n {
			t.Errorf("secrets.json lists %d %s, want at least %d", len(secrets[kind]), kind, n)
		}
	}
	for i, k := range secrets["api_keys"] {
		if !apiKeyRE.MatchString(k) {
			t.Errorf("api_keys[%d] is not an API key's 32 letters and digits", i)
		}
	}
	for i, h := range secrets["password_hashes"] {
		if !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("password_hashes[%d] is not an argon2id hash", i)
		}
	}
	for _, key := range secrets["jwt_keys"] {
		if !slices.ContainsFunc(secrets["jwt_keys_files"], func(f string) bool { return strings.Contains(f, key) }) {
			t.Error("no jwt_keys_files entry holds the JWT key")
		}
	}
}

// loginFailedRE is a refused login's event line, with a username the
// harness sent: what a log line carrying attacker-typed data looks like.
var loginFailedRE = regexp.MustCompile(`msg="login failed" .*username=\S+@zulip\.test`)

// checkLogsComplete: the logs are those of the whole run. Every run has its
// examples/server log, each from its serving line to its shutdown (a log
// cut short could hide a leak), every baseline its serving line, the
// Redis and slapd logs are there when their variants ran, and among the
// lines are the login events a scan must read.
func checkLogsComplete(t *testing.T, logs map[string][]byte, run *shortRun) {
	t.Helper()
	var rep report
	if err := json.Unmarshal([]byte(run.stdout), &rep); err != nil {
		t.Fatalf("-json printed no JSON document: %v", err)
	}
	for _, r := range rep.Results {
		label := r.Scenario
		if r.Variant != "" {
			label += "-" + r.Variant
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(logs)), func(name string) bool { return strings.HasSuffix(name, "-"+label+".server.log") }) {
			t.Errorf("no examples/server log for %s", label)
		}
	}
	failed, succeeded := 0, 0
	for name, data := range logs {
		switch {
		case len(data) == 0 && strings.HasSuffix(name, ".log"):
			t.Errorf("%s is empty", name)
		case strings.HasSuffix(name, ".server.log"):
			if !bytes.Contains(data, []byte("msg=serving addr=")) || !bytes.Contains(data, []byte(`msg="shutting down"`)) {
				t.Errorf("%s lacks the server's serving or shutting-down line: not all of the log", name)
			}
			failed += len(loginFailedRE.FindAll(data, -1))
			succeeded += bytes.Count(data, []byte(`msg="login succeeded"`))
		case strings.HasSuffix(name, "-baseline.log"):
			if !bytes.Contains(data, []byte("msg=serving addr=")) {
				t.Errorf("%s lacks the baseline's serving line", name)
			}
		}
	}
	if failed == 0 || succeeded == 0 {
		t.Errorf("the servers' logs hold %d refused logins with a username and %d successes, want some of each", failed, succeeded)
	}
	for name, want := range map[string]string{"redis-server.log": "Ready to accept connections", "slapd.log": "slapd starting"} {
		ran := map[string]bool{"redis-server.log": run.redis, "slapd.log": run.ldap}[name]
		if ran && !bytes.Contains(logs[name], []byte(want)) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
}

// TestNoSecretsInLogs scans every log of the short run of every scenario in
// every variant (see runShort), and the harness's own output, for every
// secret the run used or received, in every form of forms, and for any
// argon2id or SSHA hash. That it can fail is shown three ways: the list of
// secrets and the logs must be complete (checkSecretsListed,
// checkLogsComplete), a key of the run planted in a copy of one of its logs
// is found, and TestScanFindsPlantedSecrets pins the scanner.
func TestNoSecretsInLogs(t *testing.T) {
	run := runShort(t)
	secrets := loadSecrets(t, run.logDir)
	checkSecretsListed(t, secrets, run)

	entries, err := os.ReadDir(run.logDir)
	if err != nil {
		t.Fatal(err)
	}
	logs := map[string][]byte{"the harness's standard output": []byte(run.stdout), "the harness's standard error": []byte(run.stderr)}
	for _, e := range entries {
		if e.Name() == "secrets.json" {
			continue
		}
		if logs[e.Name()], err = os.ReadFile(filepath.Join(run.logDir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	checkLogsComplete(t, logs, run)

	s := newScanner(needlesOf(secrets))
	for name, data := range logs {
		for _, f := range s.scan(data) {
			t.Errorf("%s, line %d, shows %s", name, f.line, f.what)
		}
	}

	// A key the run received, planted in a copy of a log the run wrote.
	keys := secrets["api_keys"]
	if len(keys) == 0 {
		t.Fatal("no API key to plant")
	}
	var planted []byte
	for name, data := range logs {
		if strings.HasSuffix(name, ".server.log") {
			planted = append(slices.Clone(data), "time=x level=INFO msg=planted api_key="+keys[len(keys)/2]+"\n"...)
			break
		}
	}
	if found := s.scan(planted); len(found) != 1 || !strings.HasPrefix(found[0].what, "api_keys[") {
		t.Errorf("a key planted in a copy of a server's log: found %v, want the one key", found)
	}
}

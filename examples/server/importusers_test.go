package main

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// importDB is a database the import tests run on: the store flags that
// reach it and how the test opens it.
type importDB struct {
	name  string
	flags func(t *testing.T) []string
}

var importDBs = []importDB{
	{"sqlite", func(t *testing.T) []string { return []string{"-db", tempDB(t)} }},
	{"postgres", func(t *testing.T) []string { return []string{"-postgres", freshPostgresSchema(t)} }},
}

// runCmd runs one command line on the database flags name, with stdin, and
// returns what it printed on each stream.
func runCmd(t *testing.T, flags []string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	all := append(append([]string{args[0]}, flags...), args[1:]...)
	var out, errs bytes.Buffer
	err = run(context.Background(), all, strings.NewReader(stdin), &out, &errs)
	return out.String(), errs.String(), err
}

// openStore opens the store the flags name.
func openStore(t *testing.T, flags []string) *sqlstore.Store {
	t.Helper()
	driver := map[string]string{"-db": "sqlite", "-postgres": "postgres"}[flags[0]]
	st, err := sqlstore.Open(context.Background(), driver, flags[1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func countUsers(t *testing.T, st *sqlstore.Store) int {
	t.Helper()
	n, err := st.CountUsers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// jsonLine is one line of an import file.
func jsonLine(t testing.TB, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Hashes as the systems users come from store them, made outside the
// server's own code path.
func bcryptHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// djangoPBKDF2 is Django's pbkdf2_sha256 encoding (a Zulip server's older
// hashes).
func djangoPBKDF2(t testing.TB, pw string) string {
	t.Helper()
	const salt, iterations = "seasalt", 1000
	key, err := pbkdf2.Key(sha256.New, pw, []byte(salt), iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(key))
}

func cheapArgon2id(t testing.TB, pw string) string {
	t.Helper()
	h, err := argon2id.CreateHash(pw, &argon2id.Params{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// A file of users from elsewhere is imported in one go, on SQLite and
// PostgreSQL: every field as given (the email's letter case, the API key,
// the hash byte for byte, inactive users deactivated), a fresh key where the
// file has none; the output is one JSON summary and never a hash; the
// imported bcrypt and pbkdf2 passwords log in and are upgraded. The same
// file again is refused whole: nothing is overwritten.
func TestImportUsers(t *testing.T) {
	t.Parallel()
	for _, db := range importDBs {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			flags := db.flags(t)
			if _, _, err := runCmd(t, flags, "", "create-realm", "-subdomain", "lear"); err != nil {
				t.Fatal(err)
			}
			key := zulipauth.GenerateAPIKey()
			hashes := map[string]string{
				"Iago@Zulip.com":      bcryptHash(t, "iago's password"),
				"hamlet@zulip.com":    djangoPBKDF2(t, "hamlet's password"),
				"cordelia@zulip.com":  cheapArgon2id(t, "cordelia's password"),
				"gone@zulip.com":      bcryptHash(t, "gone's password"),
				"sso@zulip.com":       "",
				"unusable@zulip.com":  "!Vd9uXWsLp2zmQwAOFOfBgR2bsqp4GdQhFJzIBNwh",
				"Iago@lear.zulip.com": bcryptHash(t, "lear's password"),
			}
			lines := []string{
				jsonLine(t, map[string]any{"email": "Iago@Zulip.com", "full_name": "Iago", "password_hash": hashes["Iago@Zulip.com"], "api_key": key, "is_active": true}),
				jsonLine(t, map[string]any{"email": "hamlet@zulip.com", "full_name": "Hamlet, Prince of Dänemark", "password_hash": hashes["hamlet@zulip.com"], "realm": ""}),
				"", // blank lines are skipped
				jsonLine(t, map[string]any{"email": "cordelia@zulip.com", "full_name": "", "password_hash": hashes["cordelia@zulip.com"], "api_key": nil}),
				jsonLine(t, map[string]any{"email": "gone@zulip.com", "full_name": "Gone", "password_hash": hashes["gone@zulip.com"], "is_active": false}),
				jsonLine(t, map[string]any{"email": "sso@zulip.com", "full_name": "Only SSO", "password_hash": ""}) + "\r", // CR LF
				jsonLine(t, map[string]any{"email": "unusable@zulip.com", "full_name": "Unusable", "password_hash": hashes["unusable@zulip.com"]}),
				jsonLine(t, map[string]any{"email": "Iago@lear.zulip.com", "full_name": "Iago of Lear", "password_hash": hashes["Iago@lear.zulip.com"], "realm": "lear"}),
			}
			file := strings.Join(lines, "\n") // no final newline
			out, errs, err := runCmd(t, flags, file, "import-users")
			if err != nil {
				t.Fatalf("import-users: %v\n%s", err, errs)
			}
			if out != `{"imported":7}`+"\n" || errs != "" {
				t.Errorf("import-users printed %q and %q, want one summary line", out, errs)
			}

			st := openStore(t, flags)
			ctx := context.Background()
			keys := map[string]bool{}
			for email, hash := range hashes {
				realm := ""
				if strings.HasSuffix(email, "@lear.zulip.com") {
					realm = "lear"
				}
				u, err := st.UserByEmail(ctx, realm, strings.ToUpper(email))
				if err != nil {
					t.Fatalf("%s not imported: %v", email, err)
				}
				if u.Email != email || u.PasswordHash != hash || u.Deactivated != (email == "gone@zulip.com") || u.PasswordResetRequired {
					t.Errorf("%s imported as %v (deactivated %v), hash kept: %v", email, u, u.Deactivated, u.PasswordHash == hash)
				}
				if !zulipauth.ValidAPIKeyFormat(u.APIKey) || keys[u.APIKey] {
					t.Errorf("%s: key not fresh and well-formed", email)
				}
				keys[u.APIKey] = true
				if email == "Iago@Zulip.com" && u.APIKey != key {
					t.Errorf("the file's API key was not kept")
				}
				if email == "hamlet@zulip.com" && u.FullName != "Hamlet, Prince of Dänemark" {
					t.Errorf("full name %q", u.FullName)
				}
			}
			if countUsers(t, st) != 7 {
				t.Errorf("%d users after the import, want 7", countUsers(t, st))
			}

			// The same file again: every line is an address the realm has.
			out, errs, err = runCmd(t, flags, file, "import-users")
			if err == nil || out != "" || !strings.Contains(err.Error(), "line 1: email: the realm has a user with this email already") ||
				!strings.Contains(errs, "line 8: email: the realm has a user with this email already") {
				t.Errorf("the file again: %v; printed %q, %q", err, out, errs)
			}
			if countUsers(t, st) != 7 {
				t.Errorf("a refused import changed the store: %d users", countUsers(t, st))
			}
			for _, h := range hashes {
				if len(h) > 8 && (strings.Contains(errs, h) || strings.Contains(err.Error(), h)) {
					t.Error("a refusal printed a hash")
				}
			}
		})
	}
}

// The imported passwords work over HTTP, are upgraded to argon2id on the
// first correct login, and the imported key is the one the login returns.
func TestImportedUsersLogIn(t *testing.T) {
	t.Parallel()
	db := tempDB(t)
	key := zulipauth.GenerateAPIKey()
	file := strings.Join([]string{
		jsonLine(t, map[string]any{"email": "iago@zulip.com", "full_name": "Iago", "password_hash": bcryptHash(t, "iago's password"), "api_key": key}),
		jsonLine(t, map[string]any{"email": "hamlet@zulip.com", "full_name": "Hamlet", "password_hash": djangoPBKDF2(t, "hamlet's password")}),
		jsonLine(t, map[string]any{"email": "gone@zulip.com", "full_name": "Gone", "password_hash": bcryptHash(t, "gone's password"), "is_active": false}),
	}, "\n") + "\n"
	if _, _, err := runCmd(t, []string{"-db", db}, file, "import-users"); err != nil {
		t.Fatal(err)
	}
	srv, _ := testServer(t, db)
	if code, body := login(t, srv.URL, "IAGO@zulip.com", "iago's password"); code != 200 || body["api_key"] != key {
		t.Errorf("bcrypt login: %d %v", code, body)
	}
	if code, body := login(t, srv.URL, "hamlet@zulip.com", "hamlet's password"); code != 200 {
		t.Errorf("pbkdf2 login: %d %v", code, body)
	}
	if code, body := login(t, srv.URL, "gone@zulip.com", "gone's password"); code != 401 || body["code"] != "USER_DEACTIVATED" {
		t.Errorf("inactive user: %d %v", code, body)
	}
	st := openStore(t, []string{"-db", db})
	for _, email := range []string{"iago@zulip.com", "hamlet@zulip.com"} {
		u, err := st.UserByEmail(context.Background(), "", email)
		if err != nil || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
			t.Errorf("%s: hash not upgraded after the login (%v)", email, err)
		}
	}
}

// Any bad line refuses the whole file, on SQLite and PostgreSQL: the error
// names the line and the reason (and standard error lists every bad line
// when there are several), nothing is printed on standard output, nothing
// changes, and no hash or key appears anywhere.
func TestImportUsersRefusals(t *testing.T) {
	t.Parallel()
	good := bcryptHash(t, "a good password")
	line := func(fields map[string]any) string {
		m := map[string]any{"email": "new@zulip.com", "full_name": "New", "password_hash": good}
		for k, v := range fields {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return jsonLine(t, m)
	}
	// secret is a hash-like value that must never be printed.
	const secret = "$2b$12$SECRETSECRETSECRETSECRuSECRETSECRETSECRETSECRETSECRETS"
	tests := []struct {
		name string
		bad  func(existingKey string) string // the third line of the file
		want string                          // in the error, after "line 3: "
	}{
		{"unknown hash format", func(string) string { return line(map[string]any{"password_hash": "md5$salt$" + secret}) }, "password_hash: "},
		{"truncated bcrypt", func(string) string { return line(map[string]any{"password_hash": secret[:40]}) }, "password_hash: "},
		{"bcrypt not in its alphabet", func(string) string {
			return line(map[string]any{"password_hash": secret[:29] + strings.Repeat("!", 31)})
		}, "password_hash: "},
		{"absurd bcrypt cost", func(string) string { return line(map[string]any{"password_hash": "$2b$31$" + secret[7:]}) }, "password_hash: "},
		{"absurd argon2 memory", func(string) string {
			return line(map[string]any{"password_hash": "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$SECRETSECRETSECRETSECRETSECRETSECRETSECRETs"})
		}, "password_hash: "},
		{"pbkdf2 not base64", func(string) string { return line(map[string]any{"password_hash": "pbkdf2_sha256$1000$salt$" + secret}) }, "password_hash: "},
		{"over-long hash", func(string) string { return line(map[string]any{"password_hash": strings.Repeat("A", 8000)}) }, "password_hash: "},
		{"bad email", func(string) string { return line(map[string]any{"email": "not an email"}) }, `email is not a valid email address`},
		{"email with white space", func(string) string { return line(map[string]any{"email": " new@zulip.com"}) }, `email is not a valid email address`},
		{"duplicate in the file", func(string) string { return line(map[string]any{"email": "FIRST@zulip.com"}) }, `email is already on line 1`},
		{"address the store has", func(string) string { return line(map[string]any{"email": "IAGO@ZULIP.COM"}) }, `email: the realm has a user with this email already`},
		{"malformed api_key", func(string) string { return line(map[string]any{"api_key": "short" + secret}) }, "api_key is not 32 characters"},
		{"empty api_key", func(string) string { return line(map[string]any{"api_key": ""}) }, "api_key is not 32 characters"},
		{"api_key in use", func(k string) string { return line(map[string]any{"api_key": k}) }, "api_key is another user's already"},
		{"api_key of an earlier line", func(string) string { return line(map[string]any{"api_key": "FirstLinesKeyFirstLinesKey012345"}) }, "api_key is the same as line 1's"},
		{"unknown realm", func(string) string { return line(map[string]any{"realm": "nope"}) }, `realm: there is no such realm`},
		{"bad realm", func(string) string { return line(map[string]any{"realm": "Not A Subdomain"}) }, `realm is not a subdomain`},
		{"unknown field", func(string) string { return line(map[string]any{"passwd": "x"}) }, "an unknown field (the fields are email"},
		{"a field spelt another way", func(string) string { return line(map[string]any{"Full-Name": "x"}) }, `unknown field "Full-Name": the field is full_name`},
		{"hash as a field name", func(string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":"","` + secret + `":1}`
		}, "an unknown field (the fields are email"},
		{"field twice", func(string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":"","email":"x@zulip.com"}`
		}, "field email given twice"},
		{"missing field", func(string) string { return line(map[string]any{"password_hash": nil}) }, "missing field password_hash"},
		{"null field", func(string) string { return `{"email":null,"full_name":"","password_hash":""}` }, "missing field email"},
		{"wrong type", func(string) string { return line(map[string]any{"full_name": 5}) }, "field full_name: want a string"},
		{"is_active not a boolean", func(string) string { return line(map[string]any{"is_active": "yes"}) }, "field is_active: want true or false"},
		{"control character in the name", func(string) string { return line(map[string]any{"full_name": "New\nLine"}) }, "full_name holds a control character"},
		{"not JSON", func(string) string { return "email,full_name,password_hash" }, "not a JSON object"},
		{"JSON array", func(string) string { return `["new@zulip.com"]` }, "not a JSON object"},
		{"truncated JSON", func(string) string { return `{"email":"new@zulip.com","password_hash":"` + secret }, "not a JSON object"},
		{"two objects", func(string) string { return line(nil) + " {}" }, "more than one JSON value"},
		{"invalid UTF-8", func(string) string { return line(map[string]any{"full_name": "x"})[:10] + "\xff\xfe" }, "not valid UTF-8"},
		{"line over the size", func(string) string { return line(map[string]any{"full_name": strings.Repeat("n", 20000)}) }, "longer than 16384 bytes"},
	}
	for _, db := range importDBs {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			flags := db.flags(t)
			out, _, err := runCmd(t, flags, "a long password\n", "create-user", "-email", "iago@zulip.com")
			if err != nil {
				t.Fatal(err)
			}
			existingKey := parseUser(t, out).APIKey
			st := openStore(t, flags)
			first := line(map[string]any{"email": "first@zulip.com", "api_key": "FirstLinesKeyFirstLinesKey012345"})
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					file := first + "\n" + line(map[string]any{"email": "second@zulip.com"}) + "\n" + tc.bad(existingKey) + "\n"
					out, errs, err := runCmd(t, flags, file, "import-users")
					if err == nil {
						t.Fatalf("imported (printed %q)", out)
					}
					if !strings.Contains(err.Error(), "line 3: "+tc.want) || !strings.Contains(err.Error(), "nothing was imported") {
						t.Errorf("error %q, want it to name line 3: %s", err, tc.want)
					}
					if msg := oneLine(err); strings.Contains(msg, "\n") {
						t.Errorf("error is not one line: %q", msg)
					}
					if out != "" || errs != "" { // one bad line: the error alone says it
						t.Errorf("printed %q on stdout and %q on stderr", out, errs)
					}
					for _, s := range []string{err.Error(), errs} {
						if strings.Contains(s, secret[7:30]) || strings.Contains(s, existingKey) || strings.Contains(s, good) {
							t.Errorf("a hash or key was printed: %q", s)
						}
					}
					if n := countUsers(t, st); n != 1 {
						t.Errorf("%d users after a refused import, want 1", n)
					}
				})
			}
			// Several bad lines: each is listed, the error counts them.
			file := first + "\n" + line(map[string]any{"email": "bad"}) + "\n" + line(map[string]any{"password_hash": secret}) + "\n"
			_, errs, err := runCmd(t, flags, file, "import-users")
			if err == nil || !strings.Contains(err.Error(), "line 2: ") || !strings.Contains(err.Error(), "and 1 more bad lines") ||
				!strings.Contains(errs, "line 2: ") || !strings.Contains(errs, "line 3: password_hash: ") {
				t.Errorf("two bad lines: %v\n%s", err, errs)
			}
		})
	}
}

// An empty input imports nobody and says so.
func TestImportUsersEmpty(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n\n  \n"} {
		out, _, err := runCmd(t, []string{"-db", tempDB(t)}, in, "import-users")
		if err != nil || out != `{"imported":0}`+"\n" {
			t.Errorf("import of %q: %q, %v", in, out, err)
		}
	}
}

// import-users -h says what a line holds.
func TestImportUsersHelp(t *testing.T) {
	t.Parallel()
	out, _, err := runCmd(t, nil, "", "import-users", "-h")
	if err != nil || !strings.Contains(out, `"password_hash"`) || !strings.Contains(out, "-postgres string") {
		t.Errorf("import-users -h: %v\n%s", err, out)
	}
}

// FuzzImportLine: the line parser sees bytes from another system. Whatever
// a line holds, it never panics; a line it accepts is a user the store can
// take (a valid email, a hash the server verifies, a key of Zulip's format
// or none); a line it refuses gets a short reason that never repeats a
// field's value or an unknown field's name, any of which may be a secret in
// the wrong place.
func FuzzImportLine(f *testing.F) {
	for _, s := range []string{
		`{"email":"iago@zulip.com","full_name":"Iago","password_hash":""}`,
		`{"email":"iago@zulip.com","full_name":"Iago","password_hash":"$2b$04$abcdefghijklmnopqrstuu5Q8x3X4m3kLh0vG1Zbq8q2c0KZbUe6q","realm":"lear","api_key":"abcdefghijklmnopqrstuvwxyz012345","is_active":false}`,
		`{"email":"a@b.co","full_name":"","password_hash":"pbkdf2_sha256$1000$salt$AAAA"}`,
		`{"email":"a@b.co","full_name":"","password_hash":"argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$a2V5"}`,
		`{"email":"a@b.co","full_name":"","password_hash":"!x","extra":1}`,
		`{"email":"a@b.co","email":"a@b.co"}`,
		`[1,2]`, `{`, `{}`, `{} {}`, "\xff", `{"email":1}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		u, err := parseImportLine(line)
		if err == nil {
			if !zulipauth.ValidEmail(u.Email) || password.CheckHash(u.PasswordHash) != nil ||
				u.APIKey != "" && !zulipauth.ValidAPIKeyFormat(u.APIKey) {
				t.Fatalf("accepted a line the store cannot take: %q", line)
			}
			return
		}
		msg := err.Error()
		if len(msg) > 400 {
			t.Fatalf("a %d-byte reason: %q", len(msg), msg)
		}
		// A reason is built from fixed words and known field names, so no
		// value may reach it: the same line with a marker spread through
		// any string value, or through an unknown field's name, gets no
		// reason holding the marker.
		const marker = "LEAKMARK"
		var fields map[string]any
		if json.Unmarshal(line, &fields) != nil || bytes.Contains(line, []byte(marker)) {
			return
		}
		spread := func(v string) string { return marker + v[:len(v)/2] + marker + v[len(v)/2:] + marker }
		for name, x := range fields {
			marked := map[string]any{}
			for k, x := range fields {
				marked[k] = x
			}
			what := "value of " + name
			if !importFields[name] {
				delete(marked, name)
				marked[spread(name)] = x
				what = "unknown field's name"
			} else if v, ok := x.(string); ok {
				marked[name] = spread(v)
			} else {
				continue
			}
			b, err := json.Marshal(marked)
			if err != nil {
				continue
			}
			if _, err := parseImportLine(b); err != nil && strings.Contains(err.Error(), marker) {
				t.Fatalf("the reason %q repeats the %s", err, what)
			}
		}
	})
}

// BenchmarkImportUsers imports 10,000 users with bcrypt hashes into a new
// SQLite database, through the command (reading and checking the lines
// included), and, as the baseline measured in the same run, creates the same
// users one CreateUser at a time. It reports the seconds of each and their
// ratio.
func BenchmarkImportUsers(b *testing.B) {
	const n = 10_000
	hash := bcryptHash(b, "a good password")
	var file strings.Builder
	users := make([]zulipauth.NewUser, n)
	for i := range n {
		users[i] = zulipauth.NewUser{Email: fmt.Sprintf("user%05d@example.com", i), FullName: fmt.Sprintf("User %d", i), PasswordHash: hash}
		file.WriteString(jsonLine(b, map[string]any{"email": users[i].Email, "full_name": users[i].FullName, "password_hash": hash}))
		file.WriteByte('\n')
	}
	b.ReportAllocs()
	var importTime, createTime time.Duration
	for b.Loop() {
		db := tempDB(b)
		start := time.Now()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"import-users", "-db", db}, strings.NewReader(file.String()), &out, &out); err != nil {
			b.Fatal(err)
		}
		importTime += time.Since(start)

		st, err := sqlstore.Open(context.Background(), "sqlite", tempDB(b))
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		for _, u := range users {
			if _, err := st.CreateUser(context.Background(), u); err != nil {
				b.Fatal(err)
			}
		}
		createTime += time.Since(start)
		st.Close()
	}
	b.ReportMetric(importTime.Seconds()/float64(b.N), "import_s/10k")
	b.ReportMetric(createTime.Seconds()/float64(b.N), "createuser_s/10k")
	b.ReportMetric(createTime.Seconds()/importTime.Seconds(), "createuser/import")
}

// Pins a leak found by an attacker's testing: a secret pasted into the wrong
// field of an import file (a password hash in email or realm, an API key in
// email, a key used as a field's name) was echoed in import-users' refusal,
// whole or 80 characters of it, salt and all. Whatever field holds a hash, an
// API key or a password, on whatever path the refusal takes (the line's own
// checks, a repeat of an earlier line, the store's ImportError), no
// 8-character piece of the secret is printed, on either stream or in the
// error; the refusal names the line and the field.
func TestImportUsersNeverPrintsSecrets(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"hash": bcryptHash(t, "Tr0ub4dor&3xyzzy"),
		"key":  "Qz7xW2mK9pLr4TvB8nYc3HdF6jGs5aEu",
		// a password that passes as a realm's subdomain, so that the line
		// reaches the store, which refuses the realm
		"password": "kq7zx-vorpal-wm3j",
		// and one that passes as an email address
		"password@": "Vx9q.Trill@Plugh7.example",
	}
	good := `{"email":"first@zulip.com","full_name":"First","password_hash":""}`
	type place struct {
		name  string
		line  func(s string) string // the second line of the file
		field string                // that the refusal names
	}
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	places := []place{
		{"email", func(s string) string { return `{"email":` + str(s) + `,"full_name":"","password_hash":""}` }, "email"},
		{"email of the first line", func(s string) string {
			return `{"email":` + str(s) + `,"full_name":"","password_hash":""}` + "\n" + `{"email":` + str(s) + `,"full_name":"","password_hash":""}`
		}, "email"},
		{"realm", func(s string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":"","realm":` + str(s) + `}`
		}, "realm"},
		{"api_key", func(s string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":"","api_key":` + str(s) + `}`
		}, "api_key"},
		{"password_hash", func(s string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":` + str(s) + `}`
		}, "password_hash"},
		{"is_active", func(s string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":"","is_active":` + str(s) + `}`
		}, "is_active"},
		{"full_name", func(s string) string {
			return `{"email":"new@zulip.com","full_name":` + str(s+"\t") + `,"password_hash":""}`
		}, "full_name"},
		{"a field's name", func(s string) string {
			return `{"email":"new@zulip.com","full_name":"","password_hash":"",` + str(s) + `:1}`
		}, "unknown field"},
		{"a field's name, twice", func(s string) string {
			return `{"email":"new@zulip.com",` + str(s) + `:1,` + str(s) + `:2}`
		}, "unknown field"},
		{"a value without quotes", func(s string) string { return `{"email":"new@zulip.com","password_hash":` + s + `}` }, "JSON"},
		{"a value after the object", func(s string) string { return `{"email":"new@zulip.com","full_name":"","password_hash":""} ` + str(s) }, "JSON"},
	}
	for _, db := range importDBs {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			flags := db.flags(t)
			if _, _, err := runCmd(t, flags, "a long password\n", "create-user", "-email", "someone@zulip.com"); err != nil {
				t.Fatal(err)
			}
			n := 0
			for what, secret := range secrets {
				for _, p := range places {
					// Fresh addresses: a line the secret left valid is
					// imported.
					n++
					file := strings.NewReplacer("first@", fmt.Sprintf("first%d@", n), "new@", fmt.Sprintf("new%d@", n)).Replace(good + "\n" + p.line(secret) + "\n")
					out, errs, err := runCmd(t, flags, file, "import-users")
					if err == nil {
						continue // the secret made a valid line: nothing is printed but the count
					}
					printed := out + errs + err.Error()
					if !strings.Contains(printed, "line 2") || !strings.Contains(printed, p.field) {
						t.Errorf("%s in %s: %q does not name line 2 and %s", what, p.name, printed, p.field)
					}
					for i := 0; i+8 <= len(secret); i++ {
						if piece := secret[i : i+8]; strings.Contains(printed, piece) {
							t.Errorf("%s in %s: the refusal %q prints %q of it", what, p.name, printed, piece)
							break
						}
					}
				}
			}
		})
	}
}

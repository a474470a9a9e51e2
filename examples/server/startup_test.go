package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/ldap/slapdtest"
	"github.com/zulipauth/zulipauth-go/backends/oidc/oidctest"
	"github.com/zulipauth/zulipauth-go/backends/redislimit/redistest"
)

// inProcess is serve run in the test's process, until the test ends.
type inProcess struct {
	base   string        // http://HOST:PORT
	stderr *lockedWriter // the server's log
	line   map[string]string
	done   chan error
}

// serveInProcess runs serve with args (after -addr 127.0.0.1:0) and waits
// for its start-up line, which it parses; it fails the test if serve
// returns first.
func serveInProcess(t *testing.T, args ...string) *inProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &inProcess{stderr: &lockedWriter{w: &strings.Builder{}}, done: make(chan error, 1)}
	all := append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)
	go func() { p.done <- run(ctx, all, strings.NewReader(""), &lockedWriter{w: &strings.Builder{}}, p.stderr) }()
	t.Cleanup(func() { cancel(); <-p.done })
	deadline := time.Now().Add(30 * time.Second)
	for {
		for l := range strings.SplitSeq(p.stderr.String(), "\n") {
			if strings.Contains(l, " msg=serving ") {
				p.line = parseLogLine(t, l)
				p.base = p.line["addr"]
				return p
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("serve %v returned %v before serving:\n%s", args, err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve %v did not start:\n%s", args, p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parseLogLine reads one line of slog's text format into its keys and
// values, unquoting quoted values.
func parseLogLine(t *testing.T, line string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for rest := line; rest != ""; {
		rest = strings.TrimLeft(rest, " ")
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("not slog's text format at %q in %q", rest, line)
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			quoted, err := strconv.QuotedPrefix(after)
			if err != nil {
				t.Fatalf("bad quoting at %q in %q", after, line)
			}
			value, _ = strconv.Unquote(quoted)
			rest = after[len(quoted):]
		} else {
			value, rest, _ = strings.Cut(after, " ")
		}
		m[key] = value
	}
	return m
}

// checkLine fails the test for each key of want the line does not have
// with that value, and for each secret found anywhere in the log.
func (p *inProcess) checkLine(t *testing.T, want map[string]string, secrets ...string) {
	t.Helper()
	for k, v := range want {
		if got, ok := p.line[k]; !ok || got != v {
			t.Errorf("start-up line: %s=%q, want %q\nline: %v", k, got, v, p.line)
		}
	}
	for _, s := range secrets {
		if strings.Contains(p.stderr.String(), s) {
			t.Errorf("the log holds the secret %q:\n%s", s, p.stderr)
		}
	}
}

// The start-up line says what the server serves, for each configuration:
// the store, the budgets, the login methods, the proxies, the caches and
// the memory limit with where it came from, in one structured line, and
// never a secret (the DSN's or the Redis URL's password, the directory's
// service password, a JWT key, an SSO client secret or SAML key).
func TestStartUpLine(t *testing.T) {
	t.Run("password only", func(t *testing.T) {
		t.Parallel()
		db := tempDB(t)
		p := serveInProcess(t, "-db", db)
		p.checkLine(t, map[string]string{
			"level": "INFO", "msg": "serving", "external_host": strings.TrimPrefix(p.base, "http://"),
			"store": "sqlite", "store_at": db, "limiters.kind": "memory", "methods": "password",
			"trusted_proxies": "none", "api_key_cache": "10s", "realm_cache": "10s",
		})
		if from := p.line["memory_limit_from"]; !strings.HasPrefix(from, "serve: ") || !strings.HasSuffix(p.line["memory_limit"], "MiB") {
			t.Errorf("memory_limit=%q memory_limit_from=%q, want serve's own limit in MiB", p.line["memory_limit"], from)
		}
	})
	t.Run("proxies and caches", func(t *testing.T) {
		t.Parallel()
		p := serveInProcess(t, "-db", tempDB(t), "-trusted-proxy", "10.0.0.0/8", "-trusted-proxy", "192.0.2.7",
			"-client-ip-header", "X-Real-IP", "-api-key-cache", "0", "-realm-cache", "1m", "-external-host", "chat.example.com")
		p.checkLine(t, map[string]string{"trusted_proxies": "10.0.0.0/8,192.0.2.7/32", "client_ip_header": "X-Real-IP",
			"api_key_cache": "off", "realm_cache": "1m0s", "external_host": "chat.example.com"})
	})
	t.Run("LDAP", func(t *testing.T) {
		t.Parallel()
		dir := slapdtest.Start(t, slapdtest.Options{})
		pwFile := filepath.Join(t.TempDir(), "ldap-password")
		os.WriteFile(pwFile, []byte(dir.ServicePassword+"\n"), 0o600)
		p := serveInProcess(t, "-db", tempDB(t), "-auth", "ldap,password", "-ldap-url", dir.URL,
			"-ldap-bind-dn", dir.ServiceDN, "-ldap-bind-password-file", pwFile, "-ldap-search-base", slapdtest.People,
			"-ldap-username-attr", "uid", "-ldap-email-attr", "mail")
		p.checkLine(t, map[string]string{"methods": "ldap,password", "ldap": dir.URL}, dir.ServicePassword)
		if strings.Contains(p.stderr.String(), "level=WARN") {
			t.Errorf("a directory that answers was warned about:\n%s", p.stderr)
		}
	})
	t.Run("JWT", func(t *testing.T) {
		t.Parallel()
		p := serveInProcess(t, "-db", tempDB(t), "-jwt-keys", jwtKeysFile(t))
		p.checkLine(t, map[string]string{"methods": "password,jwt", "jwt_realms": "(root)"}, jwtSecret)
	})
	t.Run("OIDC and SAML", func(t *testing.T) {
		t.Parallel()
		port := freePort(t)
		host := "localhost:" + port
		db, _, samlFlags := samlSetup(t, host)
		op := oidctest.Start(t, oidctest.Options{RedirectURIs: []string{"http://" + host + "/complete/oidc/"}})
		secret := filepath.Join(t.TempDir(), "secret")
		os.WriteFile(secret, []byte(op.ClientSecret+"\n"), 0o600)
		keyPEM, _ := os.ReadFile(samlFlags[len(samlFlags)-1])
		args := append([]string{"-db", db, "-addr", "127.0.0.1:" + port, "-oidc-issuer", op.Issuer, "-oidc-client-id", op.ClientID,
			"-oidc-client-secret-file", secret, "-oidc-name", "corp-oidc"}, samlFlags...)
		p := serveInProcess(t, args...)
		p.checkLine(t, map[string]string{"methods": "password,oidc:corp-oidc,saml:" + samlIdPName, "external_host": host},
			op.ClientSecret, strings.Split(string(keyPEM), "\n")[1])
	})
	t.Run("Redis", func(t *testing.T) {
		t.Parallel()
		const password = "redis-password-never-logged"
		redis := redistest.Start(t, "--requirepass", password)
		p := serveInProcess(t, "-db", tempDB(t), "-redis", "redis://:"+password+"@"+redis.Addr()+"/0", "-redis-timeout", "5s")
		p.checkLine(t, map[string]string{"limiters.kind": "redis", "limiters.redis": redis.Addr(),
			"limiters.on_outage": "fail-open", "limiters.timeout": "5s"}, password)
		if strings.Contains(p.stderr.String(), "level=WARN") {
			t.Errorf("a Redis that answers was warned about:\n%s", p.stderr)
		}
		q := serveInProcess(t, "-db", tempDB(t), "-redis", "redis://:"+password+"@"+redis.Addr()+"/0", "-redis-fail-closed")
		q.checkLine(t, map[string]string{"limiters.on_outage": "fail-closed", "limiters.timeout": "100ms"}, password)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		t.Parallel()
		dsn := freshPostgresSchema(t)
		cfg := parsePostgres(t, dsn)
		p := serveInProcess(t, "-postgres", dsn)
		p.checkLine(t, map[string]string{"store": "postgres",
			"store_at": cfg.User + "@" + cfg.Host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + cfg.Database + " schema " + cfg.RuntimeParams["search_path"]},
			dsn, ":"+cfg.Password+"@")
	})
	t.Run("dev login", func(t *testing.T) {
		t.Parallel()
		p := serveInProcess(t, "-db", tempDB(t), "-dev-login")
		p.checkLine(t, map[string]string{"methods": "password,dev-login"})
	})
}

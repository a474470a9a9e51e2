package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/redislimit"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
	"github.com/zulipauth/zulipauth-go/examples/internal/refserver"
	"github.com/zulipauth/zulipauth-go/zulipauth"
)

// prefixList is a repeatable -trusted-proxy flag.
type prefixList []netip.Prefix

func (p *prefixList) String() string { return fmt.Sprint(*p) }

func (p *prefixList) Set(s string) error {
	pre, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return fmt.Errorf("not a CIDR prefix or address: %q", s)
		}
		pre = netip.PrefixFrom(a, a.BitLen())
	}
	*p = append(*p, pre.Masked())
	return nil
}

// serveConfig is what serve's flags say: the wiring they set as it is
// (refserver.Config, which buildHandler completes with the authenticators,
// the JWT keys and the Redis budgets the flags below name), where the store
// is and what to listen on.
type serveConfig struct {
	refserver.Config
	store storeFlags
	addr  string
	auth  authFlags
	oidc  oidcFlags
	saml  samlFlags
	// metrics are -metrics-addr's and the health checks' flags; obs, when
	// they ask for any, what those read (see observer).
	metrics metricsFlags
	obs     *observer
	// redis, when set, holds the budgets (see redisLimits).
	redis           string
	redisFailClosed bool
	redisTimeout    time.Duration
	redisLease      int
}

// serveSummary is what serve's -h says it does.
const serveSummary = `Serves Zulip's login (POST /api/v1/fetch_api_key, GET /api/v1/server_settings) and
GET /api/v1/users/me behind HTTP Basic email:api_key, until SIGINT or SIGTERM. It holds the terminal:
run the admin commands from another one.

server_settings tells clients the server's URL (realm_url), to which they send passwords, so it is
configured, never taken from a request's Host header: it is -external-host, or the -addr the server
listens on when that is one address. A wildcard -addr such as :9991 or 0.0.0.0:9991 therefore needs
-external-host, the HOST[:PORT] clients reach the server by (chat.example.com, localhost:9991);
SUB.HOST then selects realm SUB.

The Go runtime gets a soft memory limit of the hash slots' argon2id memory (GOMAXPROCS slots) plus
80 MiB, so that a burst of logins does not leave the heap at twice what it holds; set GOMEMLIMIT to
choose another.`

// serveFlagSet builds serve's flags, filling c.
func serveFlagSet() (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{Config: refserver.Defaults()}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.store.register(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9991", "listen address HOST:PORT")
	fs.StringVar(&c.ExternalHost, "external-host", "", "the HOST[:PORT] clients reach the server by; SUB.HOST selects realm SUB (default: -addr, when it is one address)")
	fs.Var((*prefixList)(&c.TrustedProxies), "trusted-proxy", "CIDR or address of a reverse proxy whose -client-ip-header is believed (repeatable)")
	fs.StringVar(&c.ClientIPHeader, "client-ip-header", "X-Forwarded-For", "the header the trusted proxies set to the client's address (X-Forwarded-For or X-Real-IP); needs -trusted-proxy")
	fs.DurationVar(&c.APIKeyCacheTTL, "api-key-cache", c.APIKeyCacheTTL, "how long a cached API-key lookup is trusted after the store last vouched for it: each read of the change feed (every 250 ms) vouches for the keys it did not revoke, so active keys stay cached while the feed answers (0 disables)")
	fs.DurationVar(&c.RealmCacheTTL, "realm-cache", c.RealmCacheTTL, "how long realm lookups are cached; a realm changed by another process takes effect within 250 ms (0 disables)")
	c.auth.register(fs)
	c.oidc.register(fs)
	c.saml.register(fs)
	fs.BoolVar(&c.InsecureDevLogin, "dev-login", false, "INSECURE: mount /api/v1/dev_fetch_api_key, a login without password")
	fs.StringVar(&c.redis, "redis", "", "Redis HOST:PORT (or redis:// URL) holding the rate-limit budgets, shared by every instance (default: budgets in this process)")
	fs.DurationVar(&c.redisTimeout, "redis-timeout", redislimit.DefaultTimeout, "bound on each Redis call; a slower answer counts as an outage (needs -redis)")
	fs.IntVar(&c.redisLease, "redis-lease", defaultRedisLease, "tokens of a user's API budget each instance takes from Redis at once and spends within a second; 0 asks Redis on every API request (needs -redis)")
	fs.BoolVar(&c.redisFailClosed, "redis-fail-closed", false, "while Redis does not answer, refuse logins with 429 instead of limiting in this process (needs -redis)")
	c.metrics.register(fs)
	return fs, c
}

// parseServeFlags parses serve's command line; helped reports that -h
// printed the usage and nothing is to be served.
func parseServeFlags(args []string, stdout io.Writer) (c serveConfig, helped bool, err error) {
	fs, cp := serveFlagSet()
	if helped, err := parseFlags(fs, args, stdout, "serve [flags]", serveSummary); helped || err != nil {
		return *cp, helped, err
	}
	if err := cp.store.check(fs); err != nil {
		return *cp, false, err
	}
	if err := cp.auth.check(fs); err != nil {
		return *cp, false, err
	}
	if err := cp.oidc.check(fs); err != nil {
		return *cp, false, err
	}
	if err := cp.saml.check(fs); err != nil {
		return *cp, false, err
	}
	headerSet := false
	fs.Visit(func(f *flag.Flag) { headerSet = headerSet || f.Name == "client-ip-header" })
	if len(cp.TrustedProxies) == 0 {
		if headerSet {
			return *cp, false, fmt.Errorf("%w: serve: -client-ip-header is believed only from a -trusted-proxy: give the proxy's address too", errUsage)
		}
		cp.ClientIPHeader = "" // no proxy: the TCP peer is the client
	}
	if err := cp.metrics.check(); err != nil {
		return *cp, false, err
	}
	if cp.redisFailClosed && cp.redis == "" {
		return *cp, false, fmt.Errorf("%w: serve: -redis-fail-closed needs -redis", errUsage)
	}
	if cp.ExternalHost != "" {
		if err := checkExternalHost(cp.ExternalHost); err != nil {
			return *cp, false, fmt.Errorf("%w: serve: -external-host %q: %v", errUsage, cp.ExternalHost, err)
		}
	}
	return *cp, false, nil
}

// checkExternalHost refuses an -external-host that is not a host name or
// an IP literal with an optional port. server_settings builds realm_url,
// the URL clients send passwords to and show as a link, by writing
// "http(s)://" and SUB. before it, so anything else in it (a quote and
// markup, a path, a user, white space) would be served as part of that URL.
// A host name is what Zulip's EXTERNAL_HOST is: letters, digits and inner
// hyphens in dot-separated labels of at most 63 characters, 253 in all, the
// last label not all digits (999.1.1.1 is no address and no name); an IDN
// is given in its xn-- form. An IPv6 address is in brackets, as in a URL.
// The port is a number from 1 to 65535.
func checkExternalHost(h string) error {
	const what = "an external host is a host name (chat.example.com), an IPv4 address or an IPv6 address in brackets ([2001:db8::1]), " +
		"with an optional :PORT, and nothing else"
	if strings.Contains(h, "://") {
		return fmt.Errorf("give HOST[:PORT] without a scheme: %s", what)
	}
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return fmt.Errorf("no ] closes the IPv6 address: %s", what)
		}
		host, port = h[1:end], h[end+1:]
		if port != "" && port[0] != ':' {
			return fmt.Errorf("something follows the IPv6 address: %s", what)
		}
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() || a.Zone() != "" {
			return fmt.Errorf("%q in brackets is not an IPv6 address: %s", host, what)
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i:]
	}
	if port != "" {
		n, err := strconv.Atoi(port[1:])
		if err != nil || n < 1 || n > 65535 || port[1] == '+' {
			return fmt.Errorf("the port is not a number from 1 to 65535 (an IPv6 address goes in brackets): %s", what)
		}
	}
	if strings.HasPrefix(h, "[") {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil // an IPv4 address: netip refuses one with a zone or leading zeros
	}
	if !validHostName(host) {
		return fmt.Errorf("not a host name: %s", what)
	}
	return nil
}

// validHostName reports whether s is a DNS host name as RFC 1123 and
// RFC 3696 have it (see checkExternalHost), without a final dot.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return !isAllDigits(labels[len(labels)-1])
}

func isAllDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// externalHostFor is the external host the server announces when
// -external-host is not given: the address it listens on, when that is one
// address. A wildcard address would leave only the request's Host header,
// which anyone can set, so it is refused.
func externalHostFor(listening net.Addr) (string, error) {
	ap, err := netip.ParseAddrPort(listening.String())
	if err != nil {
		return "", fmt.Errorf("listening on %s: %w", listening, err)
	}
	if ap.Addr().IsUnspecified() {
		return "", fmt.Errorf("%w: serve: -addr %s listens on every address, so the server cannot tell clients its URL: give -external-host HOST[:PORT], the name clients reach it by (see serve -h)", errUsage, listening)
	}
	return ap.String(), nil
}

// serve runs the server until ctx ends (SIGINT, SIGTERM), then shuts down
// gracefully, letting requests in flight finish.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, helped, err := parseServeFlags(args, stdout)
	if helped || err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	routeRedisLog(log)
	memLimit, memFrom := setMemoryLimit()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if c.ExternalHost == "" {
		if c.ExternalHost, err = externalHostFor(ln.Addr()); err != nil {
			return err
		}
	}
	c.store.log = log
	st, err := c.store.open(ctx, true)
	if err != nil {
		return err
	}
	defer c.store.closeStore(st)

	sso, err := c.oidc.provider(ctx, log)
	if err != nil {
		return err
	}
	if sso != nil {
		c.IdentityProviders = []zulipauth.IdentityProvider{sso}
	}
	idps, sp, err := c.saml.providers(ctx, c.ExternalHost, log)
	if err != nil {
		return err
	}
	c.IdentityProviders = append(c.IdentityProviders, idps...)
	c.SAMLServiceProvider = sp
	c.obs = c.metrics.observer()
	var auth atomic.Pointer[zulipauth.Auth]
	c.OnAuth = auth.Store
	handler, stop, err := buildHandler(st, c, log)
	if err != nil {
		return err
	}
	defer stop()
	if handler, stop, err = c.metrics.serve(c.obs, handler, log); err != nil {
		return err
	}
	defer stop()
	announce(log, ln.Addr(), c, st, memLimit, memFrom)
	go followMemoryLimit(ctx, memLimit, memFrom, auth.Load)
	for _, p := range c.IdentityProviders {
		info := p.Info()
		if info.Kind == "saml" {
			continue // announced below, with what the IdP registers
		}
		log.Info("single sign-on: register these redirect URIs with the provider (https:// behind a TLS proxy)",
			"provider", info.Kind+":"+info.Name, "root_realm", "http://"+c.ExternalHost+info.CallbackPath,
			"realm_SUB", "http://SUB."+c.ExternalHost+info.CallbackPath)
	}
	if sp != nil {
		c.saml.announce(log, c.ExternalHost, sp)
		if c.saml.allowIdPInitiated {
			log.Warn("single sign-on: -saml-allow-idp-initiated accepts answers that no login of this server asked for: whoever gets hold of a person's answer, while it is current, logs in as them")
		}
	}
	if n, err := st.CountUsers(ctx); err == nil && n == 0 {
		fmt.Fprintf(stdout, "No users yet. Create one with:\n  echo 'a long password' | go run ./examples/server create-user -email you@example.com%s\n", storeHint(c.store))
	}
	return refserver.ServeDraining(ctx, ln, handler, log, c.metrics.drain, c.obs.beginShutdown)
}

// buildHandler builds what the flags name (the authenticators, the JWT
// keys, the budgets in Redis) into c's wiring and hands it to
// refserver.NewHandler; stop ends what they and zulipauth started (the
// directory's connections, the Redis client, the change feed's follower).
func buildHandler(st *sqlstore.Store, c serveConfig, log *slog.Logger) (h http.Handler, stop func(), err error) {
	if c.auth.methods == nil {
		c.auth.methods = []string{"password"}
	}
	if c.TokenVerifier, err = c.auth.tokenVerifier(); err != nil {
		return nil, nil, err
	}

	closeRedis := func() error { return nil }
	if c.redis != "" {
		shared, err := redisLimits(c.redis, c.redisFailClosed, c.redisTimeout, c.redisLease, log)
		if err != nil {
			return nil, nil, err
		}
		closeRedis = shared.close
		c.obs.setRedis(shared, c.redisFailClosed)
		// Load tests raise the client's budget; the rest are shared.
		c.UsernameLimiter, c.UserLimiter = shared.login, shared.user
		if c.IPLimiter == nil {
			c.IPLimiter = shared.ip
		}
	}
	authenticator, closeDirs, err := c.auth.authenticator(st, log)
	if err != nil {
		closeRedis()
		return nil, nil, err
	}
	c.Authenticator = authenticator
	c.obs.attach(&c.Config, st, c.auth)
	h, stopWiring, err := refserver.NewHandler(st, c.Config, log)
	if err != nil {
		closeDirs()
		closeRedis()
		return nil, nil, err
	}
	return h, func() { stopWiring(); closeDirs(); closeRedis() }, nil
}

// storeHint repeats the store flags for the hint, never the DSN itself,
// which may hold the database's password.
func storeHint(s storeFlags) string {
	if s.postgres != "" {
		return " -postgres \"$DSN\""
	}
	if s.db != "zulipauth.db" {
		return " -db " + s.db
	}
	return ""
}

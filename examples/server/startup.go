package main

import (
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/zulipauth/zulipauth-go/backends/jwt"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
)

// announce logs the one line that says what the server serves: where it
// listens and the host it tells clients, the store, the budgets, the login
// methods, the proxies it believes, the caches and the memory limit with
// where it came from. An operator reads the configuration in force from it,
// and a test checks it; it holds no secret: the store and Redis are named
// by host, port, user and database, never by their DSN or URL, which may
// hold a password, and the JWT keys by their realms.
//
// The line starts msg=serving addr=http://HOST:PORT: examples/loadtest and
// the tests read the address from it.
func announce(log *slog.Logger, listening net.Addr, c serveConfig, st *sqlstore.Store, memLimit int64, memFrom string) {
	attrs := []any{
		"addr", "http://" + listening.String(),
		"external_host", c.ExternalHost,
		"store", string(st.Dialect()),
		"store_at", storeAt(c.store),
		slog.Group("limiters", limiterAttrs(c)...),
		"methods", strings.Join(methods(c), ","),
	}
	if slices.Contains(c.auth.methods, "ldap") {
		attrs = append(attrs, "ldap", c.auth.ldap.url) // ldap.New refuses a URL with a user or password
	}
	if c.auth.jwtKeys != "" {
		attrs = append(attrs, "jwt_realms", jwtRealms(c.auth.jwtKeys))
	}
	proxies := "none"
	if len(c.TrustedProxies) > 0 {
		var ps []string
		for _, p := range c.TrustedProxies {
			ps = append(ps, p.String())
		}
		proxies = strings.Join(ps, ",")
		attrs = append(attrs, "trusted_proxies", proxies, "client_ip_header", c.ClientIPHeader)
	} else {
		attrs = append(attrs, "trusted_proxies", proxies)
	}
	attrs = append(attrs,
		"api_key_cache", ttlText(c.APIKeyCacheTTL),
		"realm_cache", ttlText(c.RealmCacheTTL),
		"memory_limit", memoryLimitText(memLimit),
		"memory_limit_from", memFrom,
	)
	log.Info("serving", attrs...)
}

// methods lists the ways to log in, in the order they are tried: -auth's
// authenticators, the JWT login, each single sign-on provider as KIND:NAME
// (as server_settings names it), the dev login.
func methods(c serveConfig) []string {
	ms := slices.Clone(c.auth.methods)
	if len(ms) == 0 {
		ms = []string{"password"}
	}
	if c.auth.jwtKeys != "" {
		ms = append(ms, "jwt")
	}
	for _, p := range c.IdentityProviders {
		info := p.Info()
		ms = append(ms, info.Kind+":"+info.Name)
	}
	if c.InsecureDevLogin {
		ms = append(ms, "dev-login")
	}
	return ms
}

// limiterAttrs says where the budgets are kept and what happens to them
// when Redis does not answer.
func limiterAttrs(c serveConfig) []any {
	if c.redis == "" {
		return []any{"kind", "memory"}
	}
	outage := "fail-open"
	if c.redisFailClosed {
		outage = "fail-closed"
	}
	timeout := c.redisTimeout
	return []any{"kind", "redis", "redis", redisAddr(c.redis), "on_outage", outage, "timeout", timeout.String()}
}

// redisAddr is -redis's HOST:PORT, with "(TLS)" for a rediss:// URL: never
// the URL, which may hold a password.
func redisAddr(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	opts, err := redis.ParseURL(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if opts.TLSConfig != nil {
		return opts.Addr + " (TLS)"
	}
	return opts.Addr
}

// storeAt names the database: the SQLite file, or PostgreSQL's
// USER@HOST:PORT/DATABASE (and the schema, when search_path names one).
func storeAt(s storeFlags) string {
	if s.postgres == "" {
		return s.db
	}
	cfg, err := pgx.ParseConfig(s.postgres)
	if err != nil {
		return "(unparsable DSN)"
	}
	at := fmt.Sprintf("%s@%s/%s", cfg.User, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), cfg.Database)
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		at += " schema " + sp
	}
	return at
}

// jwtRealms lists the realms -jwt-keys has keys for, "(root)" for the root
// realm (a name no subdomain can have), never a key. The file was read and
// checked moments before, by tokenVerifier.
func jwtRealms(path string) string {
	keys, err := jwt.LoadKeysFile(path)
	if err != nil {
		return "(unreadable)"
	}
	var names []string
	for realm := range keys {
		if realm == "" {
			realm = "(root)"
		}
		names = append(names, realm)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}

// ttlText is a cache's time to live, or "off".
func ttlText(d time.Duration) string {
	if d <= 0 {
		return "off"
	}
	return d.String()
}

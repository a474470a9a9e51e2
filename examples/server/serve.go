package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/zulipauth/zulipauth-go/backends/password"
	"github.com/zulipauth/zulipauth-go/backends/sqlstore"
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

// serveConfig is what serve's flags say.
type serveConfig struct {
	store          storeFlags
	addr           string
	externalHost   string
	trustedProxies prefixList
	clientIPHeader string
	apiKeyCache    time.Duration
	devLogin       bool
	// Budgets; nil means zulipauth's defaults. Load tests raise them.
	ipLimiter, userLimiter zulipauth.Limiter
}

func parseServeFlags(args []string) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.store.register(fs)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:9991", "listen address")
	fs.StringVar(&c.externalHost, "external-host", "", "host name: SUB.HOST selects realm SUB, HOST the root realm (default: one realm)")
	fs.Var(&c.trustedProxies, "trusted-proxy", "CIDR of a reverse proxy whose -client-ip-header is believed (repeatable)")
	fs.StringVar(&c.clientIPHeader, "client-ip-header", "X-Forwarded-For", "the header the trusted proxies set to the client's address (X-Forwarded-For or X-Real-IP)")
	fs.DurationVar(&c.apiKeyCache, "api-key-cache", 10*time.Second, "how long API-key lookups are cached (0 disables)")
	fs.BoolVar(&c.devLogin, "dev-login", false, "INSECURE: mount /api/v1/dev_fetch_api_key, a login without password")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: serve: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: serve: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return c, nil
}

// serve runs the server until ctx ends (SIGINT, SIGTERM), then shuts down
// gracefully, letting requests in flight finish.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseServeFlags(args)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := c.store.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	handler, err := buildHandler(st, c, log)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "store", st.Dialect(), "external_host", c.externalHost)
	if n, err := st.CountUsers(ctx); err == nil && n == 0 {
		fmt.Fprintf(stdout, "No users yet. Create one with:\n  echo 'a long password' | go run ./examples/server create-user -email you@example.com%s\n", storeHint(c.store))
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// buildHandler wires the store into zulipauth and the example's routes.
func buildHandler(st *sqlstore.Store, c serveConfig, log *slog.Logger) (http.Handler, error) {
	pw, err := password.New(st, password.WithLogger(log))
	if err != nil {
		return nil, err
	}
	auth, err := zulipauth.New(zulipauth.Config{
		Users:          st,
		Authenticator:  pw,
		Realms:         zulipauth.HostRealms{Realms: st, ExternalHost: c.externalHost},
		TrustedProxies: c.trustedProxies,
		ClientIPHeader: c.clientIPHeader,
		APIKeyCacheTTL: c.apiKeyCache,
		IPLimiter:      c.ipLimiter,
		UserLimiter:    c.userLimiter,
		Logger:         log,
		OnEvent:        logEvent(log),
	})
	if err != nil {
		return nil, err
	}
	return newMux(auth, c.devLogin, log), nil
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

// newMux wires zulipauth and the example's own API route.
func newMux(auth *zulipauth.Auth, devLogin bool, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	auth.Mount(mux)
	if devLogin {
		log.Warn("INSECURE: -dev-login mounts /api/v1/dev_fetch_api_key: anyone who can reach this server can log in as any user without a password. Never use it in production.")
		mux.Handle("/api/v1/dev_fetch_api_key", auth.InsecureDevFetchAPIKey())
	}
	mux.Handle("/api/v1/users/me", auth.RequireAPIKey(http.HandlerFunc(usersMe)))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		zulipauth.WriteError(w, &zulipauth.Error{Status: http.StatusNotFound, Msg: "Not Found"})
	})
	return zulipauth.MergeSlashes(mux)
}

// profile is GET /api/v1/users/me's answer, a subset of Zulip's.
type profile struct {
	UserID        int64  `json:"user_id"`
	Email         string `json:"email"`
	DeliveryEmail string `json:"delivery_email"`
	FullName      string `json:"full_name"`
	IsActive      bool   `json:"is_active"`
	IsBot         bool   `json:"is_bot"`
	Role          int    `json:"role"`
	DateJoined    string `json:"date_joined"`
}

// usersMe shows how a host application reads the authenticated user.
func usersMe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		zulipauth.WriteError(w, zulipauth.MethodNotAllowed(http.MethodGet, http.MethodHead))
		return
	}
	u, _ := zulipauth.UserFrom(r.Context())
	zulipauth.WriteSuccess(w, profile{ //nolint:errcheck // a struct always marshals
		UserID:        u.ID,
		Email:         u.Email,
		DeliveryEmail: u.Email,
		FullName:      u.FullName,
		IsActive:      !u.Deactivated,
		Role:          400, // Zulip's member role
		DateJoined:    u.CreatedAt.UTC().Format(time.RFC3339),
	})
}

// logEvent logs every login outcome: the audit trail a real deployment keeps.
func logEvent(log *slog.Logger) func(zulipauth.Event) {
	return func(e zulipauth.Event) {
		attrs := []any{"realm", e.Realm, "username", e.Username, "client_ip", e.ClientIP.String()}
		if e.Code != "" {
			attrs = append(attrs, "code", e.Code)
		}
		if e.Limit != "" {
			attrs = append(attrs, "limit", e.Limit)
		}
		if e.Kind == zulipauth.LoginSucceeded {
			attrs = append(attrs, "user", e.User)
		}
		log.Info(strings.ReplaceAll(e.Kind.String(), "_", " "), attrs...)
	}
}

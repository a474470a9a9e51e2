package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/zulipauth/zulipauth-go/backends/redislimit"
)

// serve checks each dependency it is given (PostgreSQL, Redis, the LDAP
// directory) when it starts, and says in one line what is wrong with one
// that does not answer, in an operator's words, with what to do: the error
// a driver returns names the last thing it tried, or the first, and rarely
// the cause (pgx with sslmode=prefer reports the TLS attempt it fell back
// from before the database that does not exist; go-redis, dialling five
// times under a 100 ms bound, reports the deadline, not the refusal). Then
// it starts degraded or exits, as each dependency's fault rule in
// README.md says: without PostgreSQL it exits; without Redis it limits in
// this process (or refuses logins, with -redis-fail-closed); without the
// directory, LDAP logins are faults until it answers.

// startCheckTimeout bounds each dependency's check at start: long enough for
// a server on another continent, short enough that a black-holed address is
// reported while the operator watches.
const startCheckTimeout = 5 * time.Second

// A fault is what is wrong with a dependency, as the start-up checks say it.
type fault struct {
	// kind is a short word for logs and tests: refused, timeout, auth,
	// no-database, tls, no-host, unreachable, closed, other.
	kind string
	// what says it in words, for the operator.
	what string
}

// netAdvice is netFault's fault for err, at the server named at, with what
// to do: start when nothing answered there (refused, no such host,
// unreachable), hung when it did not answer in time, other for the rest
// (TLS); ok is false when err is not a network failure.
func netAdvice(err error, at, start, hung, other string) (f fault, todo string, ok bool) {
	if f, ok = netFault(err); !ok {
		return f, "", false
	}
	f.what = at + ": " + f.what
	switch f.kind {
	case "refused", "no-host", "unreachable":
		return f, start, true
	case "timeout":
		return f, hung, true
	}
	return f, other, true
}

// netFault names what went wrong reaching a server over the network, when
// it is one of the usual ways (refused, timed out, no such host, TLS); ok
// is false for anything else.
func netFault(err error) (f fault, ok bool) {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fault{"refused", "connection refused (nothing listens there)"}, true
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fault{"no-host", fmt.Sprintf("no such host %q", dnsErr.Name)}, true
	case isTimeout(err):
		return fault{"timeout", "timed out (no answer: the server is hung, or a firewall drops the packets)"}, true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fault{"unreachable", "host unreachable"}, true
	case errors.As(err, &recordErr):
		return fault{"tls", "TLS refused (the server does not speak TLS on that port)"}, true
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostnameErr):
		return fault{"tls", "TLS refused: the server's certificate is not trusted (" + lastCause(err).Error() + ")"}, true
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return fault{"closed", "the server closed the connection at once (does it expect TLS, or another protocol, on that port?)"}, true
	}
	return fault{}, false
}

// isTimeout reports whether err is a deadline passing, of a context or of
// a connection.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// lastCause follows err's wrapping down to its last cause: where an error
// joins several (pgx joins one per connection attempt), the last, which is
// the attempt that decided.
func lastCause(err error) error {
	for {
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			if len(errs) == 0 {
				return err
			}
			err = errs[len(errs)-1]
		case interface{ Unwrap() error }:
			next := u.Unwrap()
			if next == nil {
				return err
			}
			err = next
		default:
			return err
		}
	}
}

// postgresFault says what is wrong with the PostgreSQL at host:port, given
// the error of a connection to it as user to database, and what to do.
func postgresFault(err error, host string, port uint16, user, database string) (fault, string) {
	at := fmt.Sprintf("PostgreSQL at %s", net.JoinHostPort(host, fmt.Sprint(port)))
	cause := lastCause(err)
	var pgErr *pgconn.PgError
	if errors.As(cause, &pgErr) {
		said := fmt.Sprintf(" (the server said: %s: %s, SQLSTATE %s)", pgErr.Severity, pgErr.Message, pgErr.Code)
		switch pgErr.Code {
		case "3D000": // invalid_catalog_name
			return fault{"no-database", fmt.Sprintf("%s has no database %q", at, database)},
				fmt.Sprintf("create it first (as the postgres superuser: createdb -O %s %s; see \"Running it in production\" in examples/server/README.md), or correct the database name in the DSN%s", user, database, said)
		case "28P01": // invalid_password
			return fault{"auth", fmt.Sprintf("%s refused the password of role %q (authentication failed)", at, user)},
				"correct the password in the DSN, or set the role's (ALTER ROLE " + user + " PASSWORD '…')" + said
		case "28000": // invalid_authorization_specification: no such role, or pg_hba.conf
			return fault{"auth", fmt.Sprintf("%s refused role %q (authentication failed)", at, user)},
				"create the role (createuser -P " + user + "), or allow it in pg_hba.conf, or correct the user in the DSN" + said
		case "57P03": // cannot_connect_now
			return fault{"starting", at + " is starting up or shutting down"}, "wait until it accepts connections, then start again" + said
		case "53300": // too_many_connections
			return fault{"too-many", at + " has no connection left"}, "raise its max_connections, or stop what holds them" + said
		}
		return fault{"other", at + " refused the connection"}, "see what the server said" + said
	}
	if strings.Contains(cause.Error(), "server refused TLS connection") {
		return fault{"tls", at + " refused TLS (the DSN's sslmode requires it; the server has ssl off)"},
			"turn ssl on in postgresql.conf, or give sslmode=disable in the DSN where the network is trusted"
	}
	if f, todo, ok := netAdvice(cause, at, "start PostgreSQL, or correct the host and port in the DSN",
		"check that PostgreSQL runs there and that the network lets this host reach it, or raise connect_timeout in the DSN",
		"check the DSN's host, port and sslmode"); ok {
		return f, todo
	}
	return fault{"other", at + ": " + cause.Error()}, "check the DSN and that PostgreSQL runs there"
}

// redisFault says what is wrong with the Redis at addr, given the error of
// a call to it, and what to do about it.
func redisFault(err error, addr string) (fault, string) {
	at := "Redis at " + addr
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		if strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "ERR AUTH") {
			return fault{"auth", at + " refused the client (authentication failed: " + msg + ")"},
				"give the password in a -redis URL (redis://:PASSWORD@HOST:PORT, or redis://USER:PASSWORD@HOST:PORT for an ACL user), or correct it"
		}
		return fault{"other", at + " answered an error: " + msg}, "check the server's configuration (it must allow EVALSHA, EVAL, DEL and PING)"
	}
	if f, todo, ok := netAdvice(lastCause(err), at, "start Redis, or correct -redis",
		"check that Redis runs there and answers (a hung or paused server accepts connections and never answers), and that no firewall drops the packets",
		"give rediss:// for a port that speaks TLS, redis:// or HOST:PORT for one that does not"); ok {
		return f, todo
	}
	return fault{"other", at + ": " + lastCause(err).Error()}, "check -redis and that Redis runs there"
}

// checkRedis asks the Redis at addr for a PING once, at start, and when it
// does not answer logs one line saying what is wrong and what the budgets
// do meanwhile, and puts the limiters sharing health on their fallback at
// once, so that no request waits for a Redis known to be down. That line is
// the outage's; the limiters log its end, when a probe gets an answer.
func checkRedis(client *redis.Client, addr string, health *redislimit.Health, failClosed bool, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), startCheckTimeout)
	defer cancel()
	err := client.Ping(ctx).Err()
	if err == nil {
		return
	}
	f, todo := redisFault(err, addr)
	meanwhile := "until it answers, each instance limits logins with budgets of its own (fail-open)"
	if failClosed {
		meanwhile = "until it answers, every login is refused with 429 (-redis-fail-closed)"
	}
	health.MarkUnavailable()
	log.Warn(fmt.Sprintf("%s: %s; %s", f.what, todo, meanwhile),
		"dependency", "redis", "fault", f.kind, "error", err.Error())
}

// checkDirectory connects to the LDAP directory the flags name once, at
// start: TCP, TLS where the flags ask for it, then a bind as the service
// account, or, without one, a read of the root DSE (any answer will do: the
// directory may refuse anonymous reads). When it does not answer, it logs
// one line saying what is wrong and what logins do meanwhile: a directory
// that is down is a fault of each LDAP login (500), never a wrong
// password, so the server starts and the directory may come up after it.
func checkDirectory(l ldapFlags, log *slog.Logger) {
	f, todo := directoryFault(l)
	if f == nil {
		return
	}
	meanwhile := "until it answers, a login that asks the directory fails with 500 (a fault, logged), never as a wrong password"
	log.Warn(fmt.Sprintf("%s: %s; %s", f.what, todo, meanwhile), "dependency", "ldap", "fault", f.kind)
}

// directoryFault does checkDirectory's check and says what is wrong, and
// what to do about it; nil when the directory answered.
func directoryFault(l ldapFlags) (*fault, string) {
	u, err := url.Parse(l.url)
	if err != nil {
		return &fault{"other", "-ldap-url: " + err.Error()}, "give ldap://HOST[:PORT] or ldaps://HOST[:PORT]"
	}
	at := "LDAP directory at " + u.Host
	timeout := startCheckTimeout
	if l.timeout > 0 {
		timeout = min(l.timeout, startCheckTimeout)
	}
	var tlsConf *tls.Config
	if u.Scheme == "ldaps" || l.startTLS {
		tlsConf = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		if l.caFile != "" {
			pem, err := os.ReadFile(l.caFile)
			if err != nil {
				return &fault{"tls", "-ldap-ca-file: " + err.Error()}, "give a readable PEM file"
			}
			tlsConf.RootCAs = x509.NewCertPool()
			tlsConf.RootCAs.AppendCertsFromPEM(pem)
		}
	}
	explain := func(err error, step string) (*fault, string) {
		var lerr *goldap.Error
		if errors.As(err, &lerr) && lerr.ResultCode != goldap.ErrorNetwork {
			if lerr.ResultCode == goldap.LDAPResultInvalidCredentials {
				return &fault{"auth", fmt.Sprintf("%s refused the service account %q (authentication failed: invalid credentials)", at, l.bindDN)},
					"correct -ldap-bind-dn or the password in -ldap-bind-password-file"
			}
			if step == "StartTLS" {
				return &fault{"tls", at + " refused StartTLS (" + lerr.Error() + ")"}, "turn TLS on in the directory, or use its ldaps:// URL"
			}
			return &fault{"other", fmt.Sprintf("%s refused the %s (%s)", at, step, lerr.Error())}, "check the directory's configuration and the -ldap-* flags"
		}
		if f, todo, ok := netAdvice(lastCause(err), at, "start the directory, or correct -ldap-url",
			"check that the directory runs there and answers, and that no firewall drops the packets",
			"check -ldap-url's scheme (ldaps:// for a TLS port), -ldap-start-tls and -ldap-ca-file"); ok {
			return &f, todo
		}
		return &fault{"other", at + ": " + lastCause(err).Error()}, "check -ldap-url and that the directory runs there"
	}
	conn, err := goldap.DialURL(l.url, goldap.DialWithDialer(&net.Dialer{Timeout: timeout}), goldap.DialWithTLSConfig(tlsConf))
	if err != nil {
		return explain(err, "connection")
	}
	defer conn.Close()
	conn.SetTimeout(timeout)
	if l.startTLS {
		if err := conn.StartTLS(tlsConf); err != nil {
			return explain(err, "StartTLS")
		}
	}
	if l.bindDN != "" {
		password, err := os.ReadFile(l.bindPasswordFile)
		if err != nil {
			return &fault{"other", "-ldap-bind-password-file: " + err.Error()}, "give a file the server can read"
		}
		// Read as ldap.New reads it: one final line break is not part of it.
		pw := strings.TrimSuffix(strings.TrimSuffix(string(password), "\n"), "\r")
		if err := conn.Bind(l.bindDN, pw); err != nil {
			return explain(err, "service account's bind")
		}
		return nil, ""
	}
	_, err = conn.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	var lerr *goldap.Error
	if err != nil && !(errors.As(err, &lerr) && lerr.ResultCode != goldap.ErrorNetwork) {
		return explain(err, "read of its root DSE")
	}
	return nil, "" // an answer, even a refusal, is a directory that answers
}

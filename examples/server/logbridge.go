package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/tracelog"
	"github.com/redis/go-redis/v9"
)

// The drivers' own logs go into the server's slog log, so that every line
// on standard error is one structured record: go-redis otherwise writes
// lines of its own ("redis: 2026/12/07 15:05:37 pool.go:770: ...") through
// the standard log package, and pgx logs only through a tracer.

// redisLogger is go-redis's logger (redis.SetLogger): each of its lines
// becomes a record with source=go-redis. Its pool reports every failed
// dial, which during an outage the limiters' own outage line (one per
// outage) already says, so those go at Debug, below what serve logs; the
// rest at Warn.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	level := slog.LevelWarn
	if strings.Contains(msg, "failed to dial") {
		level = slog.LevelDebug
	}
	l.log.Log(ctx, level, "redis: "+msg, "source", "go-redis")
}

// routeRedisLog sends go-redis's log to log. go-redis has one logger per
// process, so the last server started in a process (tests start several)
// receives it.
func routeRedisLog(log *slog.Logger) { redis.SetLogger(redisLogger{log}) }

// pgxTracer is pgx's tracelog on the server's log, at pgx's error level
// (successes are never traced: tracing them would cost every query a map).
// A failed connection is logged once per outage at Warn, with its cause,
// and a connection made after one at Info; pgx's other errors (a failed
// query) go at Debug, because the store's caller logs each as a fault
// already. The arguments of queries are never logged: they hold API keys
// and password hashes.
type pgxTracer struct {
	*tracelog.TraceLog
	log  *slog.Logger
	down atomic.Bool // a connection failed and none has been made since
	// armed is set once the store is open: before, a failed connection is
	// the error that stops serve, which says it better.
	armed atomic.Bool
}

func newPgxTracer(log *slog.Logger) *pgxTracer {
	t := &pgxTracer{log: log}
	t.TraceLog = &tracelog.TraceLog{Logger: tracelog.LoggerFunc(t.logRecord), LogLevel: tracelog.LogLevelError}
	return t
}

// TraceConnectEnd notes a connection made after a failed one; tracelog
// logs the failures.
func (t *pgxTracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	if data.Err == nil && t.down.CompareAndSwap(true, false) {
		t.log.Info("postgres: connected again", "source", "pgx")
	}
	t.TraceLog.TraceConnectEnd(ctx, data)
}

// logRecord is tracelog's Logger.
func (t *pgxTracer) logRecord(ctx context.Context, level tracelog.LogLevel, msg string, data map[string]any) {
	if msg == "Connect" {
		if !t.armed.Load() || !t.down.CompareAndSwap(false, true) {
			return // this outage was logged
		}
		attrs := []any{"source", "pgx", "host", data["host"], "port", data["port"], "database", data["database"]}
		if err, ok := data["err"].(error); ok {
			attrs = append(attrs, "error", lastCause(err).Error())
		}
		t.log.Warn("postgres: cannot connect; requests that need the database fail until it answers", attrs...)
		return
	}
	attrs := []any{"source", "pgx", "pgx_level", level.String()}
	for k, v := range data {
		if k == "args" {
			continue
		}
		attrs = append(attrs, k, v)
	}
	t.log.Debug("postgres: "+msg, attrs...)
}

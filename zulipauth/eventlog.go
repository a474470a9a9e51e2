package zulipauth

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// defaultEventLogPerMinute is how many refused logins an [EventLog] writes
// one by one in a minute when NewEventLog is given 0.
const defaultEventLogPerMinute = 60

// EventLog writes login events to a logger without letting refusals fill a
// disk: a client refused thousands of times a second would otherwise write
// hundreds of kilobytes of log a second. Use its Log method as
// Config.OnEvent, or call it from your own OnEvent.
//
//   - A success is one INFO line: the audit trail of who logged in, from
//     where. Successes cost a password verification each, so their rate is
//     bounded by the hash's.
//   - Refusals (failed and rate-limited attempts) are INFO lines one by
//     one, up to the bound per minute; the rest are counted, and one summary
//     line per minute gives their number by kind and code.
//   - A username is written as typed only when it named an account (the
//     event has a User or an Account): anything else may be a password
//     typed into the wrong field, so it is written as username_fp, a
//     fingerprint keyed with a random key of this EventLog's (12 hex
//     digits of an HMAC-SHA256 of the case-folded username). The same
//     username gives the same fingerprint for as long as the EventLog
//     lives, so an operator can still follow one username's attempts; the
//     fingerprint cannot be reversed or checked against a guess without
//     the key, which is never written.
//
// Minutes are read from Event.Time, so a test drives an EventLog with the
// events' times. A summary is written when a later minute's event arrives,
// a minute after the first uncounted refusal, or on [EventLog.Flush].
// Faults are not its business: the handlers log those one by one on
// Config.Logger. An EventLog is safe for concurrent use.
type EventLog struct {
	log       *slog.Logger
	perMinute int
	key       [32]byte // keys usernames' fingerprints; from crypto/rand

	mu         sync.Mutex
	window     time.Time           // the start of the current minute
	logged     int                 // refusals written one by one in the window
	suppressed map[refusalKind]int // uncounted refusals by kind and code
	timer      *time.Timer         // writes the summary if no later event does
}

// NewEventLog returns an EventLog writing to l, with at most perMinute
// refusals a minute written one by one (0 means
// 60; a negative number writes none, only the
// summaries). A nil l is slog.Default().
func NewEventLog(l *slog.Logger, perMinute int) *EventLog {
	if l == nil {
		l = slog.Default()
	}
	if perMinute == 0 {
		perMinute = defaultEventLogPerMinute
	}
	e := &EventLog{log: l, perMinute: max(perMinute, 0), suppressed: map[refusalKind]int{}}
	rand.Read(e.key[:])
	return e
}

// Log writes ev, or counts it for the minute's summary (see [EventLog]).
func (e *EventLog) Log(ev Event) {
	if ev.Kind == LoginSucceeded {
		e.write(ev)
		return
	}
	e.mu.Lock()
	// Windows only move forward: concurrent logins report out of order (an
	// event's Time is when its attempt began, and failures wait out the
	// password backend's failure time), and one a little older than the
	// window counts in it rather than starting a new one.
	if !ev.Time.Before(e.window.Add(time.Minute)) {
		e.flushLocked()
		e.window, e.logged = ev.Time, 0
	}
	if e.logged < e.perMinute {
		e.logged++
		e.mu.Unlock()
		e.write(ev)
		return
	}
	e.suppressed[refusalKind{ev.Kind, ev.Code}]++
	if e.timer == nil {
		e.timer = time.AfterFunc(time.Minute, e.Flush)
	}
	e.mu.Unlock()
}

// refusalKind is what an EventLog's summary counts refusals by; a struct
// rather than a string made of the two, so that counting one costs no
// allocation.
type refusalKind struct {
	kind EventKind
	code string
}

// Flush writes the summary of the refusals counted and not yet reported,
// if any: call it when the server shuts down.
func (e *EventLog) Flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.flushLocked()
}

func (e *EventLog) flushLocked() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	if len(e.suppressed) == 0 {
		return
	}
	keys := make([]refusalKind, 0, len(e.suppressed))
	total := 0
	for k, n := range e.suppressed {
		keys = append(keys, k)
		total += n
	}
	slices.SortFunc(keys, func(a, b refusalKind) int {
		return cmp.Or(cmp.Compare(a.kind.String(), b.kind.String()), cmp.Compare(a.code, b.code))
	})
	attrs := []any{"since", e.window.UTC().Format(time.RFC3339), "count", total}
	for _, k := range keys {
		code := k.code
		if code == "" {
			code = "none"
		}
		attrs = append(attrs, k.kind.String()+"."+code, e.suppressed[k])
	}
	e.log.Info("login refusals not logged one by one", attrs...)
	clear(e.suppressed)
}

// fingerprint is what write logs for a username that named no account:
// see EventLog.
func (e *EventLog) fingerprint(username string) string {
	m := hmac.New(sha256.New, e.key[:])
	m.Write([]byte(FoldEmail(username)))
	return hex.EncodeToString(m.Sum(nil)[:6])
}

// write logs one event.
func (e *EventLog) write(ev Event) {
	attrs := []any{"realm", ev.Realm}
	switch {
	case ev.Username == "":
	case ev.Kind == LoginSucceeded || ev.Account != "":
		attrs = append(attrs, "username", ev.Username)
	default:
		attrs = append(attrs, "username_fp", e.fingerprint(ev.Username))
	}
	if ev.Account != "" && ev.Kind != LoginSucceeded {
		attrs = append(attrs, "account", ev.Account)
	}
	attrs = append(attrs, "client_ip", ev.ClientIP.String())
	if ev.Code != "" {
		attrs = append(attrs, "code", ev.Code)
	}
	if ev.Limit != "" {
		attrs = append(attrs, "limit", ev.Limit)
	}
	if ev.Kind == LoginSucceeded {
		attrs = append(attrs, "user", ev.User)
	}
	e.log.Log(context.Background(), slog.LevelInfo, strings.ReplaceAll(ev.Kind.String(), "_", " "), attrs...)
}

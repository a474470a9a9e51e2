package zulipauth

import (
	"context"
	"time"
)

// Limiter decides whether one more event may happen for a key. The login
// handler keeps two: one keyed by realm and normalized username, one keyed by
// client IP. The in-memory default is [MemoryLimiter]; backends/redislimit
// shares one budget between every instance of an application.
//
// Allow consumes one event when it allows it and consumes nothing when it
// refuses (refused attempts do not extend a lock-out, as in Zulip). Reset
// forgets a key, restoring its full budget (a successful login clears the
// username's failures). An error from either method is a fault of the
// limiter; the handler then answers 500 rather than skipping the limit.
// Implementations must be safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, key string) (Decision, error)
	Reset(ctx context.Context, key string) error
}

// Decision is a [Limiter]'s answer for one event.
type Decision struct {
	// Allowed reports whether the event may go ahead.
	Allowed bool
	// Limit is the size of the budget (X-RateLimit-Limit).
	Limit int
	// Remaining is how many whole events the key may still make now,
	// after this one (X-RateLimit-Remaining); 0 when refused.
	Remaining int
	// RetryAfter, when refused, is how long until one event is allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the key's budget is full again.
	ResetAfter time.Duration
}

// Budget is a token bucket: at most Events at once, refilled evenly so that
// Events more are allowed every Per. Budget{5, 30 * time.Minute} allows five
// attempts at once, then one every six minutes.
type Budget struct {
	Events int
	Per    time.Duration
}

// Default budgets, from Zulip's DEFAULT_RATE_LIMITING_RULES.
var (
	// DefaultLoginBudget is Zulip's authenticate_by_username: 5 per 30 minutes.
	DefaultLoginBudget = Budget{Events: 5, Per: 30 * time.Minute}
	// DefaultIPBudget is Zulip's api_by_ip: 100 per minute.
	DefaultIPBudget = Budget{Events: 100, Per: time.Minute}
	// DefaultUserBudget is Zulip's api_by_user: 200 per minute.
	DefaultUserBudget = Budget{Events: 200, Per: time.Minute}
)

func (b Budget) valid() bool { return b.Events > 0 && b.Per > 0 }

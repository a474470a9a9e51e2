package redislimit

import (
	"testing"
	"time"

	"github.com/zulipauth/zulipauth-go/zulipauth"
)

func TestScriptArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b    zulipauth.Budget
		want []any // interval in µs, burst; nil: an error
	}{
		{"Zulip's login budget", zulipauth.DefaultUsernameBudget(), []any{"360000000", "5"}},
		{"Zulip's api_by_ip", zulipauth.DefaultIPBudget(), []any{"600000", "100"}},
		{"uneven: the interval is rounded down", zulipauth.Budget{Events: 3, Per: time.Second}, []any{"333333", "3"}},
		{"one per microsecond", zulipauth.Budget{Events: 1000, Per: time.Millisecond}, []any{"1", "1000"}},
		{"finer than a microsecond", zulipauth.Budget{Events: 1001, Per: time.Millisecond}, nil},
		{"sub-microsecond period", zulipauth.Budget{Events: 1, Per: 999 * time.Nanosecond}, nil},
		{"zero", zulipauth.Budget{}, nil},
		{"negative period", zulipauth.Budget{Events: 1, Per: -time.Second}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := scriptArgs(tc.b)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("scriptArgs(%v) = %v, want an error", tc.b, got)
				}
				return
			}
			if err != nil || len(got) != 2 || got[0] != tc.want[0] || got[1] != tc.want[1] {
				t.Fatalf("scriptArgs(%v) = %v, %v; want %v", tc.b, got, err, tc.want)
			}
		})
	}
}

func TestDecisionFrom(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		reply []int64
		want  zulipauth.Decision
		err   bool
	}{
		{"allowed", []int64{1, 4, 0, 360_000_000},
			zulipauth.Decision{Allowed: true, Limit: 5, Remaining: 4, ResetAfter: 6 * time.Minute}, false},
		{"refused", []int64{0, 0, 300_000_000, 1_740_000_000},
			zulipauth.Decision{Limit: 5, RetryAfter: 5 * time.Minute, ResetAfter: 29 * time.Minute}, false},
		{"microseconds", []int64{0, 0, 1, 2},
			zulipauth.Decision{Limit: 5, RetryAfter: time.Microsecond, ResetAfter: 2 * time.Microsecond}, false},
		{"short", []int64{1, 4, 0}, zulipauth.Decision{}, true},
		{"long", []int64{1, 4, 0, 1, 1}, zulipauth.Decision{}, true},
		{"allowed is not 0 or 1", []int64{2, 4, 0, 1}, zulipauth.Decision{}, true},
		{"negative", []int64{1, -1, 0, 1}, zulipauth.Decision{}, true},
		{"nil", nil, zulipauth.Decision{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := decisionFrom(tc.reply, 5)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("decisionFrom(%v) = %+v, %v; want %+v, error %v", tc.reply, got, err, tc.want, tc.err)
			}
		})
	}
}

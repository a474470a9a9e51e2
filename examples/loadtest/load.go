package main

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// class is how one operation ended, as the checks see it.
type class uint8

const (
	classExpected    class = iota // the answer the scenario is about
	classOther                    // a Zulip JSON answer, not the expected one
	classServerError              // a 5xx
	classNotJSON                  // an answer that is not Zulip's JSON
	classTransport                // no answer: refused, reset, timed out
	numClasses
)

// classNames name the classes in the report's counts.
var classNames = [numClasses]string{"expected", "other", "server-error", "not-json", "transport-error"}

// outcome is one operation's end: its class, the HTTP status (0 for
// operations that are not requests), and the error of a transport failure.
type outcome struct {
	class  class
	status int
	busy   bool // the busy answer (429 with budget left)
	err    error
}

// worker is one closed loop: it performs one operation at a time, each
// answered before the next starts, as a client waiting for its answer does.
// seq numbers the operations of a run across its workers, so that each
// request can have its own username or address.
type worker interface {
	do(seq uint64) outcome
}

// tally is what a run measured.
type tally struct {
	classes   [numClasses]int64
	statuses  map[string]int64 // "200", "401", "429-busy", "429"
	latencies []time.Duration  // of every operation, in no order
	elapsed   time.Duration
	// late counts the expected operations of a timed run (runFor) that
	// ended after its deadline: checked, but not counted in its rate.
	late int64
	// cpu is the CPU time the process serving the run used during it, 0
	// when not measured (see side).
	cpu      time.Duration
	firstErr string // the first transport error, for the report
}

// newTally is an empty tally.
func newTally() tally { return tally{statuses: map[string]int64{}} }

// record counts o, which took d.
func (t *tally) record(o outcome, d time.Duration) {
	t.classes[o.class]++
	t.latencies = append(t.latencies, d)
	switch {
	case o.class == classTransport:
		if t.firstErr == "" && o.err != nil {
			t.firstErr = o.err.Error()
		}
	case o.busy:
		t.statuses["429-busy"]++
	case o.status != 0:
		t.statuses[strconv.Itoa(o.status)]++
	}
}

// merge adds u's counts and samples to t, for the workers of one run; it
// leaves elapsed and cpu alone (the run sets them; add sums them for
// successive runs).
func (t *tally) merge(u tally) {
	for i := range t.classes {
		t.classes[i] += u.classes[i]
	}
	for k, n := range u.statuses {
		t.statuses[k] += n
	}
	t.latencies = append(t.latencies, u.latencies...)
	t.late += u.late
	if t.firstErr == "" {
		t.firstErr = u.firstErr
	}
}

// add appends a later run u to t.
func (t *tally) add(u tally) {
	t.merge(u)
	t.elapsed += u.elapsed
	t.cpu += u.cpu
}

// cpuPerOp is the serving process's CPU time per expected operation, in
// microseconds; 0 when not measured.
func (t tally) cpuPerOp() float64 {
	if t.cpu == 0 || t.classes[classExpected] == 0 {
		return 0
	}
	return float64(t.cpu) / float64(time.Microsecond) / float64(t.classes[classExpected])
}

// rate is the expected operations per second, those that ended late left
// out.
func (t tally) rate() float64 {
	if t.elapsed <= 0 {
		return 0
	}
	return float64(t.classes[classExpected]-t.late) / t.elapsed.Seconds()
}

// total is every operation counted, of every class.
func (t tally) total() int64 {
	var n int64
	for _, c := range t.classes {
		n += c
	}
	return n
}

// counts are the classes and statuses for the report.
func (t tally) counts() map[string]int64 {
	out := map[string]int64{}
	for k, n := range t.statuses {
		out[k] = n
	}
	for i := classServerError; i < numClasses; i++ {
		if t.classes[i] > 0 {
			out[classNames[i]] = t.classes[i]
		}
	}
	return out
}

// percentileMS is the q-quantile (0..1) of the latencies in milliseconds,
// by nearest rank; 0 without samples.
func (t tally) percentileMS(q float64) float64 {
	if len(t.latencies) == 0 {
		return 0
	}
	s := slices.Clone(t.latencies)
	slices.Sort(s)
	return float64(percentile(s, q)) / float64(time.Millisecond)
}

// runFor drives workers, each in its own goroutine, for d (or until ctx
// ends), numbering their operations from seq. An operation under way at
// the deadline is finished and checked, but the rate counts only the
// operations that ended within d, over d (or over the time it ran, when ctx
// ended it sooner), as load generators such as wrk count: a few slow
// answers still under way at the deadline (a wrong password's 401, which
// waits out the failure time, about 0.45 s) would otherwise stretch a round
// of a second by half, its rate measuring when they ended rather than what
// the server answered meanwhile.
func runFor(ctx context.Context, d time.Duration, workers []worker, seq *atomic.Uint64) tally {
	deadline := time.Now().Add(d)
	t := drive(ctx, workers, deadline, func() (uint64, bool) {
		if !time.Now().Before(deadline) {
			return 0, false
		}
		return seq.Add(1) - 1, true
	})
	t.elapsed = min(t.elapsed, d)
	return t
}

// drive runs workers, each in its own goroutine, until ctx ends or next
// says there is no more to do, and returns their merged tally; next numbers
// the operations and is called by every worker. The expected operations
// that end after deadline (when not zero) are counted as late.
func drive(ctx context.Context, workers []worker, deadline time.Time, next func() (seq uint64, ok bool)) tally {
	start := time.Now()
	parts := make([]tally, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			t := newTally()
			for ctx.Err() == nil {
				s, ok := next()
				if !ok {
					break
				}
				begin := time.Now()
				o := w.do(s)
				end := time.Now()
				t.record(o, end.Sub(begin))
				if o.class == classExpected && !deadline.IsZero() && end.After(deadline) {
					t.late++
				}
			}
			parts[i] = t
		})
	}
	wg.Wait()
	all := newTally()
	for _, p := range parts {
		all.merge(p)
	}
	all.elapsed = time.Since(start)
	return all
}

// comparison is a scenario and its baseline measured in alternating rounds.
type comparison struct {
	base, subject tally
	ratios        []float64 // per round: subject's rate over the baseline's
}

// ratio is the median of the rounds' ratios, so that a burst of noise from
// elsewhere on the shared machine during one round does not move it.
func (c comparison) ratio() float64 { return median(c.ratios) }

// compare runs base and subject for d each, split into rounds, alternating
// which goes first (ABBA) so that drift in the machine's speed falls on both
// alike.
func compare(ctx context.Context, rounds int, d time.Duration, base, subject func(time.Duration) tally) comparison {
	c := comparison{base: newTally(), subject: newTally()}
	per := d / time.Duration(rounds)
	for round := range rounds {
		var b, s tally
		if round%2 == 0 {
			b, s = base(per), subject(per)
		} else {
			s, b = subject(per), base(per)
		}
		c.base.add(b)
		c.subject.add(s)
		if b.rate() > 0 {
			c.ratios = append(c.ratios, s.rate()/b.rate())
		}
		if ctx.Err() != nil {
			break
		}
	}
	return c
}

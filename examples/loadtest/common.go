package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// What the scenarios share: how a side of a comparison is run, and the
// checks every scenario makes of its answers.

// warmup is how long each side runs, unmeasured, before a comparison: the
// connections open, the server's caches and the runtime's heap settle.
func (e *env) warmup() time.Duration {
	return min(max(e.o.duration/10, 100*time.Millisecond), time.Second)
}

// side runs workers for a given time, numbering their operations from seq
// (a counter of the side's own, so that each request has its own username
// or address across rounds). With a pid, it also measures the CPU time that
// process (the server of this side) used, which says what an operation
// costs the server whatever the client costs; pid 0 measures nothing.
func side(ctx context.Context, ws []worker, seq *atomic.Uint64, pid int) func(time.Duration) tally {
	return func(d time.Duration) tally {
		if pid == 0 {
			return runFor(ctx, d, ws, seq)
		}
		before, err := cpuTime(pid)
		t := runFor(ctx, d, ws, seq)
		if after, err2 := cpuTime(pid); err == nil && err2 == nil {
			t.cpu = after - before
		}
		return t
	}
}

// measure warms both sides up, unmeasured, then compares them in paired
// rounds (see env.compare): subj are the scenario's workers, loading the
// server process subjPID, base the baseline's, loading basePID (0: the CPU
// time is not measured). Each side numbers its operations from 0.
func (e *env) measure(ctx context.Context, label string, subj []worker, subjPID int, base []worker, basePID int) comparison {
	var seqS, seqB atomic.Uint64
	runSubject, runBase := side(ctx, subj, &seqS, subjPID), side(ctx, base, &seqB, basePID)
	runSubject(e.warmup())
	runBase(e.warmup())
	return e.compare(ctx, label, runBase, runSubject)
}

// fillComparison puts a comparison's figures into r: the subject's
// throughput and latency, the baseline's throughput, the median ratio.
func fillComparison(r *result, c comparison, baseline string) {
	r.Throughput = c.subject.rate()
	r.P50ms, r.P99ms = c.subject.percentileMS(0.50), c.subject.percentileMS(0.99)
	r.Baseline, r.BaselineThroughput = baseline, c.base.rate()
	r.Ratio = finite(c.ratio())
	r.Ratios = c.ratios
	r.CPUPerOpUS, r.BaselineCPUPerOpUS = c.subject.cpuPerOp(), c.base.cpuPerOp()
	r.Counts = c.subject.counts()
}

// fillTally puts the figures of a run without a baseline into r.
func fillTally(r *result, t tally) {
	r.Throughput = t.rate()
	r.P50ms, r.P99ms = t.percentileMS(0.50), t.percentileMS(0.99)
	r.Counts = t.counts()
}

// checkAnswers adds the hard checks every scenario makes: no transport
// error, no 5xx, nothing but Zulip's JSON, and no answer but those the
// scenario expects (described by expected, e.g. "200").
func checkAnswers(r *result, t tally, expected string) { checkPhase(r, t, "", expected) }

// checkPhase is checkAnswers for one phase of a scenario, named in the
// checks' names ("filling: no 5xx").
func checkPhase(r *result, t tally, phase, expected string) {
	r.hard(phase+"no transport errors", t.classes[classTransport] == 0,
		countDetail(t.classes[classTransport], t.total(), t.firstErr))
	r.hard(phase+"no 5xx", t.classes[classServerError] == 0, countDetail(t.classes[classServerError], t.total(), ""))
	r.hard(phase+"only Zulip JSON", t.classes[classNotJSON] == 0, countDetail(t.classes[classNotJSON], t.total(), ""))
	r.hard(phase+"only "+expected, t.classes[classOther] == 0, countDetail(t.classes[classOther], t.total(), statusList(t)))
	r.hard(phase+"answers", t.total() > 0, fmt.Sprintf("%d", t.total()))
}

// countDetail is a check's detail: "n of total", and an example of
// what went wrong when n is not 0.
func countDetail(n, of int64, example string) string {
	s := fmt.Sprintf("%d of %d", n, of)
	if n > 0 && example != "" {
		s += " (" + example + ")"
	}
	return s
}

// statusList is the statuses a tally saw, for a failed check's detail.
func statusList(t tally) string {
	keys := make([]string, 0, len(t.statuses))
	for k, n := range t.statuses {
		keys = append(keys, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// ratioGoal adds the goal that r's ratio be at least min.
func ratioGoal(r *result, min float64) {
	r.goal(fmt.Sprintf("ratio >= %.2f", min), r.Ratio >= min, fmt.Sprintf("%.3f", r.Ratio))
}

// measurePeakRSS puts the server's peak RSS into r; an error is a note, not
// a failure (the process may not be ours to read).
func measurePeakRSS(r *result, s *subject) {
	rss, err := s.peakRSSMiB()
	if err != nil {
		r.note("peak RSS not read: %v", err)
	}
	r.PeakRSSMiB = rss
}

// runCount sends requests 0..n-1 that build makes, from workers
// connections to host, and returns their tally: the unmeasured work that
// brings a server to the state a scenario measures (budgets spent, a
// limiter filled).
func runCount(ctx context.Context, host string, workers int, n uint64, build func([]byte, uint64) []byte, expect func(answer) bool) tally {
	ws := httpWorkers(workers, host, build, expect)
	defer closeWorkers(ws)
	var seq atomic.Uint64
	return drive(ctx, ws, time.Time{}, func() (uint64, bool) {
		s := seq.Add(1) - 1
		return s, s < n
	})
}

// finite is x, or 0 for NaN and infinities (a run without rounds), which
// JSON cannot carry.
func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

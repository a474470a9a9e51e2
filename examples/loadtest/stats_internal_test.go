package main

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", ms(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p100 is the largest", ms(1, 2, 3), 1, 3 * time.Millisecond},
		{"p0 is the smallest", ms(1, 2, 3), 0, 1 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("percentile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestMedian(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even takes the mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
		{"one", []float64{5}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs := append([]float64(nil), tc.xs...)
			if got := median(xs); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
			}
			for i := range xs {
				if xs[i] != tc.xs[i] {
					t.Fatalf("median reordered its argument: %v", xs)
				}
			}
		})
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

// TestCompareMedians: samples that differ by 20% are not "within 5%", the
// same samples are, and the interval holds the difference.
func TestCompareMedians(t *testing.T) {
	t.Parallel()
	base := make([]float64, 200)
	for i := range base {
		base[i] = 25 + float64(i%10)*0.1
	}
	slower := make([]float64, len(base))
	for i, v := range base {
		slower[i] = v * 1.2
	}
	for _, tc := range []struct {
		name       string
		a, b       []float64
		wantD      float64
		wantWithin bool
	}{
		{"same", base, base, 0, true},
		{"20% slower", slower, base, 0.2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compareMedians(tc.a, tc.b, 0.05)
			if math.Abs(got.d-tc.wantD) > 1e-9 {
				t.Errorf("d = %v, want %v", got.d, tc.wantD)
			}
			if got.lo > got.d || got.hi < got.d {
				t.Errorf("interval [%v, %v] does not hold d = %v", got.lo, got.hi, got.d)
			}
			if (got.within >= 0.95) != tc.wantWithin {
				t.Errorf("within = %v", got.within)
			}
		})
	}
}

// sleeper is a worker whose operations take d each, the first one first.
type sleeper struct{ first, d time.Duration }

func (s *sleeper) do(uint64) outcome {
	time.Sleep(s.first)
	s.first = s.d
	return outcome{class: classExpected, status: 200}
}

// A timed run's rate counts the operations that ended within its window,
// over the window: one slow answer still under way at the deadline is
// checked (counted in the classes) but does not stretch the run's time,
// nor count. Before, a round of the one-address flood measured how long its
// last wrong passwords waited out the failure time: 0.46 to 0.88 between runs.
// A run its context ends sooner (the spray's) is measured over the time it
// ran.
func TestRateCountsTheWindow(t *testing.T) {
	const window = 200 * time.Millisecond
	var seq atomic.Uint64
	fast, slow := &sleeper{first: time.Millisecond, d: time.Millisecond}, &sleeper{first: 2 * window}
	tl := runFor(context.Background(), window, []worker{fast, slow}, &seq)
	if tl.elapsed != window {
		t.Errorf("the run's time is %v, want its window, %v", tl.elapsed, window)
	}
	// The slow one, and perhaps the fast worker's last, under way at the
	// deadline.
	if tl.late < 1 || tl.late > 2 {
		t.Errorf("%d operations ended late, want the slow one and at most one fast one", tl.late)
	}
	counted := tl.classes[classExpected] - tl.late
	if counted < 10 {
		t.Fatalf("%d operations of 1 ms in %v", counted, window)
	}
	if got, want := tl.rate(), float64(counted)/window.Seconds(); got != want {
		t.Errorf("rate %.1f/s, want %.1f/s: the operations that ended in the window, over the window", got, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), window)
	defer cancel()
	tl = runFor(ctx, 24*time.Hour, []worker{&sleeper{first: time.Millisecond, d: time.Millisecond}}, &seq)
	if tl.elapsed >= 2*window || tl.late != 0 {
		t.Fatalf("a run its context ended after %v: elapsed %v, %d late", window, tl.elapsed, tl.late)
	}
	if got, want := tl.rate(), float64(tl.classes[classExpected])/tl.elapsed.Seconds(); got != want || got < 100 {
		t.Errorf("rate %.1f/s, want %.1f/s (at least 100/s): the operations over the time the run took", got, want)
	}
}

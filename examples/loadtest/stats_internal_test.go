package main

import (
	"math"
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

package main

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// percentile is the q-quantile (0..1) of sorted by nearest rank: the
// smallest sample with at least q of the samples at or below it; the zero
// value without samples.
func percentile[T cmp.Ordered](sorted []T, q float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median is the middle of xs (the mean of the two middle values for an
// even count); NaN without values. xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianDiff compares the medians of two samples: d is median(a)/median(b)-1,
// [lo, hi] its 95% bootstrap percentile interval, and within the share of
// bootstrap resamples in which |d| <= bound: the confidence that the true
// difference is within the bound.
type medianDiff struct {
	d, lo, hi float64
	within    float64
}

// bootstrapResamples is how many resamples estimate the interval: enough
// for the 2.5% and 97.5% points to be stable to a fraction of a percent.
const bootstrapResamples = 4000

// compareMedians resamples a and b (with replacement, each from itself) to
// estimate how well their samples pin down the medians' ratio. The random
// source is seeded, so a report can be reproduced from its samples.
func compareMedians(a, b []float64, bound float64) medianDiff {
	if len(a) == 0 || len(b) == 0 {
		return medianDiff{d: math.NaN(), lo: math.NaN(), hi: math.NaN()}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ra, rb := make([]float64, len(a)), make([]float64, len(b))
	ds := make([]float64, bootstrapResamples)
	inside := 0
	for i := range ds {
		for j := range ra {
			ra[j] = a[rng.IntN(len(a))]
		}
		for j := range rb {
			rb[j] = b[rng.IntN(len(b))]
		}
		ds[i] = median(ra)/median(rb) - 1
		if math.Abs(ds[i]) <= bound {
			inside++
		}
	}
	slices.Sort(ds)
	return medianDiff{
		d:      median(a)/median(b) - 1,
		lo:     percentile(ds, 0.025),
		hi:     percentile(ds, 0.975),
		within: float64(inside) / float64(len(ds)),
	}
}

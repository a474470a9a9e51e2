package latency

import (
	"maps"
	"testing"
	"time"
)

func TestRecorder(t *testing.T) {
	var r Recorder
	for _, d := range []time.Duration{100 * time.Microsecond, 500 * time.Microsecond, 3 * time.Millisecond, 10 * time.Second} {
		r.Observe(d)
	}
	count, seconds, buckets := r.Snapshot()
	if count != 4 {
		t.Errorf("count %d, want 4", count)
	}
	if want := 10.0036; seconds < want-1e-9 || seconds > want+1e-9 {
		t.Errorf("seconds %v, want %v", seconds, want)
	}
	want := map[float64]uint64{0.0005: 2, 0.001: 2, 0.0025: 2, 0.005: 3, 0.01: 3, 0.025: 3, 0.05: 3, 0.1: 3, 0.25: 3, 0.5: 3, 1: 3, 2.5: 3}
	if !maps.Equal(buckets, want) {
		t.Errorf("buckets %v, want %v", buckets, want)
	}
}

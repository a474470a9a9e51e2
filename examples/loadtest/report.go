package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
)

// result is one line of the report: a scenario, or one part of it, in one
// variant. Fields that do not apply are zero and left out of the JSON.
type result struct {
	Scenario string `json:"scenario"`
	Variant  string `json:"variant,omitempty"`
	Part     string `json:"part,omitempty"`

	Throughput float64 `json:"throughput,omitempty"`
	Unit       string  `json:"unit,omitempty"` // of Throughput: "logins/s"
	P50ms      float64 `json:"p50_ms,omitempty"`
	P99ms      float64 `json:"p99_ms,omitempty"`
	// PeakRSSMiB is the server's VmHWM after the scenario; 0 when it is not
	// measured (-target without -target-pid, -cpuprofile).
	PeakRSSMiB float64 `json:"peak_rss_mib,omitempty"`

	Baseline           string  `json:"baseline,omitempty"` // what the baseline is
	BaselineThroughput float64 `json:"baseline_throughput,omitempty"`
	// Ratio is the median over the paired rounds of the scenario's
	// throughput over the baseline's.
	Ratio  float64   `json:"ratio,omitempty"`
	Ratios []float64 `json:"round_ratios,omitempty"`
	// CPUPerOpUS and BaselineCPUPerOpUS are the CPU time, in microseconds,
	// the server's process and the baseline's used per operation: what an
	// operation costs each, whatever the client sharing the machine costs.
	// 0 where not measured.
	CPUPerOpUS         float64 `json:"cpu_per_op_us,omitempty"`
	BaselineCPUPerOpUS float64 `json:"baseline_cpu_per_op_us,omitempty"`

	// Summary is the scenario's own figures in a few words, for the line.
	Summary string `json:"summary,omitempty"`
	// Counts are the answers by kind: "200", "401", "429-busy",
	// "transport-error"...
	Counts map[string]int64 `json:"counts,omitempty"`
	Checks []check          `json:"checks"`
	Notes  []string         `json:"notes,omitempty"`
	Error  string           `json:"error,omitempty"`
}

// check is one verdict on a result. Hard checks fail the run; goals fail it
// only with -check-ratios.
type check struct {
	Name   string `json:"name"`
	Hard   bool   `json:"hard"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// hard adds a hard check.
func (r *result) hard(name string, ok bool, detail string) {
	r.Checks = append(r.Checks, check{Name: name, Hard: true, OK: ok, Detail: detail})
}

// goal adds a goal.
func (r *result) goal(name string, ok bool, detail string) {
	r.Checks = append(r.Checks, check{Name: name, OK: ok, Detail: detail})
}

// note adds a remark for the reader of the JSON (and of -v).
func (r *result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// passed reports whether r's hard checks, and with goals its goals, passed.
func (r *result) passed(goals bool) bool {
	if r.Error != "" {
		return false
	}
	for _, c := range r.Checks {
		if !c.OK && (c.Hard || goals) {
			return false
		}
	}
	return true
}

// label is the result's name on its line: scenario[/variant][ part].
func (r *result) label() string {
	l := r.Scenario
	if r.Variant != "" {
		l += "/" + r.Variant
	}
	if r.Part != "" {
		l += " " + r.Part
	}
	return l
}

// printLine prints r on one line.
func (r *result) printLine(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s", r.label())
	if r.Throughput > 0 {
		fmt.Fprintf(&b, " %9.1f %s", r.Throughput, r.Unit)
	}
	if r.P50ms > 0 {
		fmt.Fprintf(&b, "  p50 %s p99 %s", fmtMS(r.P50ms), fmtMS(r.P99ms))
	}
	if r.PeakRSSMiB > 0 {
		fmt.Fprintf(&b, "  rss %.0fMiB", r.PeakRSSMiB)
	}
	if r.Baseline != "" {
		fmt.Fprintf(&b, "  | %s %.1f/s ratio %.3f", r.Baseline, r.BaselineThroughput, r.Ratio)
	}
	if r.CPUPerOpUS > 0 && r.BaselineCPUPerOpUS > 0 {
		fmt.Fprintf(&b, "  | cpu/op %.1fus vs %.1fus", r.CPUPerOpUS, r.BaselineCPUPerOpUS)
	}
	if r.Summary != "" {
		fmt.Fprintf(&b, "  | %s", r.Summary)
	}
	var goals, failed []string
	for _, c := range r.Checks {
		switch {
		case !c.Hard:
			verdict := "met"
			if !c.OK {
				verdict = "MISSED"
			}
			goals = append(goals, fmt.Sprintf("goal %s %s", c.Name, verdict))
		case !c.OK:
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	if len(goals) > 0 {
		fmt.Fprintf(&b, "  | %s", strings.Join(goals, ", "))
	}
	switch {
	case r.Error != "":
		fmt.Fprintf(&b, "  | ERROR: %s", r.Error)
	case len(failed) > 0:
		fmt.Fprintf(&b, "  | FAILED: %s", strings.Join(failed, "; "))
	default:
		b.WriteString("  | checks ok")
	}
	fmt.Fprintln(w, b.String())
}

// printDetails prints, indented under r's line, what the line leaves out:
// the rounds' ratios, the answers by kind, every check and the notes (-v).
func (r *result) printDetails(w io.Writer) {
	if len(r.Ratios) > 0 {
		rs := make([]string, len(r.Ratios))
		for i, x := range r.Ratios {
			rs[i] = fmt.Sprintf("%.3f", x)
		}
		fmt.Fprintf(w, "    rounds: %s\n", strings.Join(rs, " "))
	}
	if len(r.Counts) > 0 {
		keys := make([]string, 0, len(r.Counts))
		for k := range r.Counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = fmt.Sprintf("%s: %d", k, r.Counts[k])
		}
		fmt.Fprintf(w, "    answers: %s\n", strings.Join(keys, ", "))
	}
	for _, c := range r.Checks {
		kind, verdict := "goal", "ok"
		if c.Hard {
			kind = "check"
		}
		if !c.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(w, "    %s %s: %s (%s)\n", kind, c.Name, verdict, c.Detail)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "    note: %s\n", n)
	}
}

// fmtMS formats milliseconds with three significant digits or so.
func fmtMS(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}

// failedRun is the result of a run that stopped with err.
func failedRun(err error) *result {
	return &result{Error: oneLine(err.Error())}
}

// oneLine keeps a message on one line of the report.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// report is the whole run: the machine, the results, the verdict.
type report struct {
	CPUs       int       `json:"cpus"`
	GOMAXPROCS int       `json:"gomaxprocs"`
	Shared     string    `json:"shared"`
	LoadStart  []float64 `json:"load_average_start"`
	LoadEnd    []float64 `json:"load_average_end"`
	Short      bool      `json:"short"`
	Duration   string    `json:"duration"`
	Rounds     int       `json:"rounds"`
	Workers    int       `json:"workers"`
	Subject    string    `json:"subject"`
	GoVersion  string    `json:"go_version"`
	Started    time.Time `json:"started"`
	Elapsed    string    `json:"elapsed"`
	Results    []*result `json:"results"`
	Passed     bool      `json:"passed"`
	// ChecksGoals reports whether goals counted toward Passed (-check-ratios).
	ChecksGoals bool `json:"check_ratios"`
}

// newReport starts the report of a run with o, passed until a result
// fails.
func newReport(o options, e *env) *report {
	return &report{
		CPUs:        runtime.NumCPU(),
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
		Shared:      "the server under test, this client and the baselines share these CPUs",
		LoadStart:   loadAverage(),
		Short:       o.short,
		Duration:    o.duration.String(),
		Rounds:      o.rounds,
		Workers:     o.workers,
		Subject:     e.describeSubject(),
		GoVersion:   runtime.Version(),
		Started:     time.Now(),
		ChecksGoals: o.checkRatios,
		Passed:      true,
	}
}

// add appends r; a hard check that failed (or a goal missed, with
// -check-ratios) fails the run.
func (rep *report) add(r *result) {
	rep.Results = append(rep.Results, r)
	rep.Passed = rep.Passed && r.passed(rep.ChecksGoals)
}

// finish notes the load average and the time the run took.
func (rep *report) finish() {
	rep.LoadEnd = loadAverage()
	rep.Elapsed = time.Since(rep.Started).Round(time.Second).String()
}

// printHeader prints the machine and the settings, before the lines.
func (rep *report) printHeader(w io.Writer) {
	mode := "full"
	if rep.Short {
		mode = "short"
	}
	fmt.Fprintf(w, "loadtest: %d CPUs (GOMAXPROCS %d), shared by the server under test, this client and the baselines; load average %s at start\n",
		rep.CPUs, rep.GOMAXPROCS, fmtLoad(rep.LoadStart))
	fmt.Fprintf(w, "loadtest: %s run, %s per side of each comparison in %d paired rounds, %d connections; %s; %s\n",
		mode, rep.Duration, rep.Rounds, rep.Workers, rep.Subject, rep.GoVersion)
}

// printFooter prints the verdict, after the lines.
func (rep *report) printFooter(w io.Writer) {
	verdict := "passed"
	if !rep.Passed {
		verdict = "FAILED"
	}
	what := "hard checks"
	if rep.ChecksGoals {
		what = "hard checks and goals"
	}
	fmt.Fprintf(w, "loadtest: %s %s in %s; load average %s at end\n", what, verdict, rep.Elapsed, fmtLoad(rep.LoadEnd))
}

// writeJSON prints the report as one JSON document (-json).
func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// fmtLoad formats a load average.
func fmtLoad(l []float64) string {
	if len(l) != 3 {
		return "unknown"
	}
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
}

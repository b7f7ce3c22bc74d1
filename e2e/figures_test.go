package e2e

import (
	"testing"
	"time"
)

// figures are what a fault test measured, logged on one line (FIGURES ...)
// for the reports.
type figures struct {
	Faults     string // what was injected, and how much
	Rows       int    // rows compared with Expected
	Missing    int
	Extra      int
	Mismatched int
	Requests   int64 // CircleCI API requests answered by the fake
	Runs       int   // workflow runs in the histories
	MaxAttempt int32
	Retries    map[string]int
	Start      time.Time
}

// fromReport fills the table figures from a comparison.
func (f *figures) fromReport(rep dbReport) {
	f.Rows = rep.compared()
	for _, d := range rep.Tables {
		f.Missing += d.Missing
		f.Extra += d.Extra
		f.Mismatched += d.Mismatched
	}
}

// fromHistories fills the history figures.
func (f *figures) fromHistories(st chainStats) {
	f.Runs = 0
	for _, n := range st.Runs {
		f.Runs += n
	}
	f.MaxAttempt, f.Retries = st.MaxAttempt, st.Retries
}

// log writes the figures on one line.
func (f figures) log(t *testing.T) {
	t.Helper()
	t.Logf("FIGURES %s: faults [%s]; rows compared %d, missing %d, extra %d, mismatched %d; requests %d; "+
		"workflow runs %d; max attempt %d, retried activities by last failure %v; wall %s",
		t.Name(), f.Faults, f.Rows, f.Missing, f.Extra, f.Mismatched, f.Requests, f.Runs, f.MaxAttempt, f.Retries,
		time.Since(f.Start).Round(100*time.Millisecond))
}

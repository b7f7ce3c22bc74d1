package circleci

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkAdaptiveLimiter prints, for budgets and fleets of limiters sharing one
// token, the share of the fake's budget used and the share of 429s (figures for
// docs/rate-limits.md; run with -benchtime 1x).
func BenchmarkAdaptiveLimiter(b *testing.B) {
	var runs []fleetRun
	for _, budget := range []float64{2, 10, 25, 100} {
		dur := 6 * time.Second
		if budget < 10 {
			dur = 15 * time.Second // a few dozen requests at least
		}
		for _, n := range []int{1, 2, 4} {
			runs = append(runs, fleetRun{budget: budget, instances: n, callers: 16 / n, dur: dur})
		}
	}
	for _, budget := range []float64{25, 100} {
		runs = append(runs, fleetRun{budget: budget, instances: 2, callers: 8, latency: 30 * time.Millisecond,
			dur: 6 * time.Second})
	}
	runs = append(runs, fleetRun{budget: 25, instances: 2, callers: 8, dur: 10 * time.Second, dropTo: 10})
	for b.Loop() {
		fmt.Fprintln(os.Stderr, "| budget (req/s) | limiters | latency | run | 200s | 429s | budget used | 429 share |")
		fmt.Fprintln(os.Stderr, "|---|---|---|---|---|---|---|---|")
		for _, fr := range runs {
			r := runFleet(b, fr)
			budget := fmt.Sprint(fr.budget)
			if fr.dropTo > 0 {
				budget += fmt.Sprintf(" → %v", fr.dropTo)
			}
			fmt.Fprintf(os.Stderr, "| %s | %d | %v | %v | %d | %d | %.2f | %.1f%% |\n", budget, fr.instances,
				fr.latency, fr.dur, r.ok, r.limited, r.used, 100*r.share429)
		}
	}
}

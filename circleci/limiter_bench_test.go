package circleci

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// BenchmarkAdaptiveLimiter prints, for budgets and fleets of limiters sharing one
// token, the share of the fake's budget used, the share of 429s and how fast a
// drop of the budget is followed (figures for docs/rate-limits.md; `make
// bench-ratelimit`, about 5 minutes).
func BenchmarkAdaptiveLimiter(b *testing.B) {
	runs := limiterBenchRuns()
	for b.Loop() {
		fmt.Fprintln(os.Stderr, "| budget (req/s) | bucket | limiters | latency | run | 200s | 429s | budget used | 429 share | drop followed in |")
		fmt.Fprintln(os.Stderr, "|---|---|---|---|---|---|---|---|---|---|")
		for _, fr := range runs {
			r := runFleet(b, fr)
			budget, follow := fmt.Sprint(fr.budget), ""
			if fr.dropTo > 0 {
				budget += fmt.Sprintf(" → %v", fr.dropTo)
				follow = r.follow.Round(100 * time.Millisecond).String()
			}
			fmt.Fprintf(os.Stderr, "| %s | %v | %d | %v | %v | %d | %d | %.2f | %.1f%% | %s |\n", budget,
				time.Duration(max(fr.bucket, 1)*float64(time.Second)), fr.instances, fr.latency, fr.dur, r.ok,
				r.limited, r.used, 100*r.share429, follow)
		}
	}
}

// limiterBenchRuns: budgets 2 to 100 requests/s for 1, 2 and 4 limiters on the
// fake's bucket of one second, long enough for a few hundred requests at 2/s;
// then latency, deeper buckets and drops of the budget.
func limiterBenchRuns() []fleetRun {
	var runs []fleetRun
	for _, budget := range []float64{2, 10, 25, 100} {
		dur := map[float64]time.Duration{2: 60 * time.Second, 10: 15 * time.Second}[budget]
		dur = max(dur, 6*time.Second)
		for _, n := range []int{1, 2, 4} {
			runs = append(runs, fleetRun{budget: budget, instances: n, callers: 16 / n, dur: dur})
		}
	}
	for _, budget := range []float64{25, 100} {
		runs = append(runs, fleetRun{budget: budget, instances: 2, callers: 8, latency: 30 * time.Millisecond,
			dur: 6 * time.Second})
	}
	for _, n := range []int{2, 4} {
		runs = append(runs, fleetRun{budget: 2, bucket: 10, instances: n, callers: 16 / n, dur: 60 * time.Second})
	}
	for _, n := range []int{1, 4} {
		runs = append(runs, fleetRun{budget: 25, instances: n, callers: 16 / n, dur: 12 * time.Second, dropTo: 10})
	}
	return runs
}

package e2e

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// budgetTotal is a full sync's minimum number of requests.
func budgetTotal(m circlecitest.RequestBudget) int64 {
	return int64(m.Projects + m.PipelinePages + m.WorkflowPages + m.JobPages + m.Users)
}

// report prints BenchmarkFleet's figures.
func (f *fleetRun) report(w io.Writer, full, cycle fleetSync, minimum incMinimum, newPipelines int) {
	ex := f.fake.Expected(f.fake.Token())
	backend := "SQLite"
	if strings.HasPrefix(f.dbURL, "postgres") {
		backend = "PostgreSQL"
	}
	fanOut := "default"
	if f.cfg.FanOut > 0 {
		fanOut = fmt.Sprint(f.cfg.FanOut)
	}
	pipelines := int64(len(ex.Pipelines))
	fmt.Fprintf(w, "fleet: %d projects × %d pipelines (%d pipelines, %d workflows, %d jobs), %d connections, %d workers, "+
		"one dev server, %s; max_concurrent_projects %s, rerun_window %s\n", f.cfg.Projects, f.cfg.Pipelines, pipelines,
		len(ex.Workflows), len(ex.Jobs), len(f.ins), f.cfg.Workers, backend, fanOut, f.rerunWindow())
	fullMin := budgetTotal(ex.MinimumRequests)
	fmt.Fprintf(w, "  %s\n  full sync: minimum %d requests, %d over (%.3fx)\n", syncLine(full, pipelines), fullMin,
		full.Stats.Total-fullMin, float64(full.Stats.Total)/float64(fullMin))
	fmt.Fprintf(w, "  full sync %s\n", full.Times)
	fmt.Fprintf(w, "  %s\n  incremental cycle %s\n", syncLine(cycle, pipelines), cycle.Times)
	fmt.Fprintf(w, "  incremental cycle after %d steps (%d new pipelines): minimum %d requests (%s), %d over; "+
		"%.1f history events per project\n", f.cfg.Steps, newPipelines, minimum.Total(), minimum,
		cycle.Stats.Total-int64(minimum.Total()), float64(cycle.History.Events)/float64(f.cfg.Projects))
	fullRate := float64(full.Stats.Total) / full.Wall.Seconds()
	fmt.Fprintf(w, "  cycle / full wall time: %.3f; at the full sync's %.0f requests/s the cycle's requests take %s\n",
		cycle.Wall.Seconds()/full.Wall.Seconds(), fullRate, secs(time.Duration(float64(cycle.Stats.Total)/fullRate*float64(time.Second))))
	var rss []string
	for _, kb := range f.peakRSS() {
		rss = append(rss, fmt.Sprintf("%.0f MiB", mib(kb)))
	}
	fmt.Fprintf(w, "  worker peak RSS: %s\n", strings.Join(rss, ", "))
}

package e2e

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// Targets of the performance issue, printed next to the figures (PASS/MISS),
// never asserted.
const (
	targetRequestRatio     = 1.02  // full sync requests / MinimumRequests.Total
	targetBudgetShare      = 0.9   // budget-bound achieved rate / R, with 0 429s
	targetLatencyShare     = 0.93  // latency-bound achieved rate / (C / latency)
	targetTemporalOverhead = 1.05  // Temporal wall time / baseline wall time
	targetEventsPer1000    = 350.0 // history events per 1,000 pipelines
	targetPeakRSSMiB       = 150.0 // worker VmHWM
	targetRSSGrowth        = 0.20  // VmHWM growth on a 5x dataset
	targetPostgresRows     = 5000.0
)

// passMiss is "PASS" when ok, else "MISS".
func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// mib converts KiB to MiB.
func mib(kb int64) float64 { return float64(kb) / 1024 }

// secs formats a duration in seconds with 2 decimals.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// thousands formats n with comma separators.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// summaryLine is one target's verdict for the summary table.
type summaryLine struct{ what, figure, target, verdict string }

// benchReport prints the figures of every scenario and the summary.
type benchReport struct {
	w       io.Writer
	summary []summaryLine
}

func (r *benchReport) printf(format string, args ...any) { fmt.Fprintf(r.w, format, args...) }

func (r *benchReport) target(what, figure, target string, ok bool) string {
	v := passMiss(ok)
	r.summary = append(r.summary, summaryLine{what, figure, target, v})
	return v
}

// dataset prints the dataset of a scenario.
func (r *benchReport) dataset(label string, ex circlecitest.Expected, seed int64, pipelines int) {
	m := ex.MinimumRequests
	r.printf("%s: seed %d, %d projects × %d pipelines in %d organisations (default workflows ≤ %d and jobs ≤ %d per "+
		"workflow, no unreachable entities): %s pipelines, %s workflows, %s jobs, %d users; MinimumRequests %s = "+
		"%d projects + %d pipeline pages + %s workflow pages + %s job pages + %d users\n",
		label, seed, len(ex.Projects), pipelines, len(orgsOf(ex)), circlecitest.DefaultMaxWorkflowsPerPipeline,
		circlecitest.DefaultMaxJobsPerWorkflow, thousands(int64(len(ex.Pipelines))), thousands(int64(len(ex.Workflows))),
		thousands(int64(len(ex.Jobs))), len(ex.Users), thousands(int64(m.Total)), m.Projects, m.PipelinePages,
		thousands(int64(m.WorkflowPages)), thousands(int64(m.JobPages)), m.Users)
}

// routes prints the requests by route against a minimum by route.
func (r *benchReport) routes(stats circlecitest.Stats, minimum map[string]int) {
	keys := map[string]bool{}
	for k := range stats.Requests {
		keys[k] = true
	}
	for k, v := range minimum {
		if v > 0 {
			keys[k] = true
		}
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	r.printf("    %-64s %8s %8s %8s  %s\n", "route", "made", "minimum", "extra", "statuses")
	for _, k := range names {
		made := stats.Count(k, 0)
		var st []string
		codes := make([]int, 0, len(stats.Requests[k]))
		for c := range stats.Requests[k] {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			st = append(st, fmt.Sprintf("%d×%d", stats.Requests[k][c], c))
		}
		r.printf("    %-64s %8d %8d %+8d  %s\n", k, made, minimum[k], made-int64(minimum[k]), strings.Join(st, " "))
	}
}

// arrivals prints the request rate and the pipe's use.
func (r *benchReport) arrivals(a arrivalStats, ideal float64, idealText string, share float64, what string) {
	r.printf("  achieved              %.1f req/s overall (%.2fx of ideal), %.1f req/s steady (%.2fx; the 5th to "+
		"95th percentile arrivals, %.1f–%.1f s) vs ideal %.1f req/s (%s)",
		a.Overall, a.Overall/ideal, a.Steady, a.Steady/ideal, a.SteadyFrom.Seconds(), a.SteadyTo.Seconds(), ideal, idealText)
	if share > 0 {
		r.printf("  target ≥ %.2fx: overall %s, steady %s", share,
			r.target(what+" overall rate", fmt.Sprintf("%.2fx", a.Overall/ideal), fmt.Sprintf("≥ %.2fx", share), a.Overall >= share*ideal),
			r.target(what+" steady rate", fmt.Sprintf("%.2fx", a.Steady/ideal), fmt.Sprintf("≥ %.2fx", share), a.Steady >= share*ideal))
	}
	r.printf("\n  in flight             mean %.1f over the sync, %.1f steady, max %d\n",
		a.MeanInFlight, a.SteadyInFlight, a.MaxInFlight)
	r.printf("  idle ends             first request %s after the start; %s from the last answer to the end\n",
		secs(a.FirstArrival), secs(a.Tail))
	var phases []string
	for _, k := range requestKinds {
		if ph, ok := a.Phases[k]; ok {
			phases = append(phases, fmt.Sprintf("%s %.2f–%.2f s (%d)", k, ph.First.Seconds(), ph.Last.Seconds(), ph.N))
		}
	}
	r.printf("  phases                arrivals by kind, first–last: %s\n", strings.Join(phases, ", "))
	if a.MinRemaining >= 0 {
		r.printf("  bucket                lowest RateLimit-Remaining answered %d; %d answers with under a tenth of the "+
			"bucket left, %d with none\n", a.MinRemaining, a.LowRemaining, a.ZeroRemaining)
	}
	var slow []string
	for i, n := range a.PerSecond {
		whole := time.Duration(i) * time.Second
		if !math.IsInf(ideal, 1) && whole >= a.SteadyFrom && whole+time.Second <= a.SteadyTo && float64(n) < ideal/2 {
			slow = append(slow, fmt.Sprintf("%d s: %d", i, n))
		}
	}
	r.printf("  slow seconds          %d whole seconds of the steady window with under half the ideal rate", len(slow))
	if len(slow) > 0 {
		r.printf(" (%s)", strings.Join(slow, ", "))
	}
	r.printf("\n")
	r.printf("  arrivals per second  ")
	for i, n := range a.PerSecond {
		if i > 0 && i%20 == 0 {
			r.printf("\n                       ")
		}
		r.printf(" %d", n)
	}
	r.printf("\n")
}

// scenario prints one scenario.
func (r *benchReport) scenario(s scenarioResult) {
	set := s.Setting
	r.printf("\n== %s / %s ==\n", set.Name, s.Backend)
	r.printf("  setting               fake %s; worker %s, CIRCLECI_PAGE_CONCURRENCY=%d (default), "+
		"WORKER_MAX_CONCURRENT_ACTIVITIES and the rest default; 3 connections (one per organisation), "+
		"max_concurrent_projects 4\n", fakeFaultsText(set.Faults), strings.Join(set.WorkerEnv, " "), workerPageConcurrency)
	ex, full := s.Expected, s.Full
	minTotal := ex.MinimumRequests.Total
	ratio := float64(full.Stats.Total) / float64(minTotal)
	var disc int64
	for _, k := range discoveryRoutes {
		disc += full.Stats.Count(k, 0)
	}
	r.printf("full sync\n  wall time             %s\n", secs(full.Wall))
	r.printf("  API requests          %s vs minimum %s: %.4fx  target ≤ %.2fx %s  (without the %d on discovery routes: %.4fx)\n",
		thousands(full.Stats.Total), thousands(int64(minTotal)), ratio, targetRequestRatio,
		r.target(fmt.Sprintf("%s/%s full-sync requests", set.Name, s.Backend), fmt.Sprintf("%.4fx", ratio),
			fmt.Sprintf("≤ %.2fx", targetRequestRatio), ratio <= targetRequestRatio),
		disc, float64(full.Stats.Total-disc)/float64(minTotal))
	r.routes(full.Stats, fullMinimumByRoute(ex.MinimumRequests))
	share := targetLatencyShare
	if set.Key == "budget" {
		share = targetBudgetShare
	}
	r.arrivals(full.Arrivals, set.Ideal, set.IdealText, share, fmt.Sprintf("%s/%s", set.Name, s.Backend))
	if set.Key != "budget" && !math.IsInf(set.Ideal, 1) {
		limit := float64(minTotal) / set.Ideal
		got := limit / full.Wall.Seconds()
		r.printf("  physical limit        %.2f s (the minimum requests at the ideal rate): the sync took %.2fx of it "+
			"(limit / wall)  target ≥ %.2fx %s\n", limit, got, share,
			r.target(fmt.Sprintf("%s/%s physical limit", set.Name, s.Backend), fmt.Sprintf("%.2fx", got),
				fmt.Sprintf("≥ %.2fx", share), got >= share))
	}
	n429 := full.Stats.CountStatus(429)
	if set.Key == "budget" {
		r.printf("  429s                  %d  target 0 %s\n", n429,
			r.target(fmt.Sprintf("%s/%s 429s", set.Name, s.Backend), strconv.FormatInt(n429, 10), "0", n429 == 0))
	} else {
		r.printf("  429s                  %d\n", n429)
	}
	runs := 0
	for _, n := range s.History.Runs {
		runs += n
	}
	per1000 := float64(s.History.Events) / (float64(len(ex.Pipelines)) / 1000)
	r.printf("  history               %s events in %d runs of %d workflows (children and continued runs included): "+
		"%.1f per 1,000 pipelines  target ≤ %.0f %s\n", thousands(int64(s.History.Events)), runs, len(s.History.Runs),
		per1000, targetEventsPer1000, r.target(fmt.Sprintf("%s/%s history events per 1,000 pipelines", set.Name, s.Backend),
			fmt.Sprintf("%.1f", per1000), fmt.Sprintf("≤ %.0f", targetEventsPer1000), per1000 <= targetEventsPer1000))
	r.printf("  worker peak RSS       %.1f MiB (VmHWM after the full sync)  target ≤ %.0f MiB %s\n", mib(s.PeakRSSKB),
		targetPeakRSSMiB, r.target(fmt.Sprintf("%s/%s worker peak RSS", set.Name, s.Backend),
			fmt.Sprintf("%.1f MiB", mib(s.PeakRSSKB)), fmt.Sprintf("≤ %.0f MiB", targetPeakRSSMiB), mib(s.PeakRSSKB) <= targetPeakRSSMiB))
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / full.Wall.Seconds() }
	r.printf("  CPU                   worker process %s (%.0f%% of one core), Temporal dev server %s (%.0f%%), "+
		"this process (fake, front, client) %s (%.0f%%); %d cores\n", secs(s.WorkerCPU), pct(s.WorkerCPU),
		secs(s.TemporalCPU), pct(s.TemporalCPU), secs(s.BenchCPU), pct(s.BenchCPU), runtime.NumCPU())
	r.printf("  rows written          %s rows (%s) in %s: %s rows/s\n", thousands(s.Rows), rowsText(s.RowsByTable),
		secs(full.Wall), thousands(int64(float64(s.Rows)/full.Wall.Seconds())))
	if s.FullTables != nil {
		r.printf("  tables vs Expected    %s\n", tablesText(*s.FullTables))
	} else {
		r.printf("  tables vs Expected    row counts %s\n", countsText(s.RowsByTable, ex))
	}

	for _, inc := range s.Incrementals {
		r.incremental(s, inc)
	}
	if b := s.Baseline; b != nil {
		over := full.Wall.Seconds() / b.Wall.Seconds()
		r.printf("baseline (plain Go loop: same client and limiter options, same store, no Temporal, no verification or discovery)\n")
		r.printf("  wall time             %s; %s requests (%.4fx minimum); %.1f req/s overall, %.1f steady; "+
			"mean in flight %.1f; %s rows/s; CPU %s (%.0f%% of one core: baseline, fake and front in this process); tables %s\n",
			secs(b.Wall), thousands(b.Stats.Total), float64(b.Stats.Total)/float64(minTotal), b.Arrivals.Overall,
			b.Arrivals.Steady, b.Arrivals.MeanInFlight, thousands(int64(float64(b.Rows)/b.Wall.Seconds())), secs(b.CPU),
			100*b.CPU.Seconds()/b.Wall.Seconds(), tablesText(b.Tables))
		r.printf("  Temporal / baseline   %.3fx (%s / %s)  target ≤ %.2fx %s\n", over, secs(full.Wall), secs(b.Wall),
			targetTemporalOverhead, r.target(fmt.Sprintf("%s/%s Temporal overhead", set.Name, s.Backend),
				fmt.Sprintf("%.3fx", over), fmt.Sprintf("≤ %.2fx", targetTemporalOverhead), over <= targetTemporalOverhead))
	}
}

// incremental prints one incremental sync.
func (r *benchReport) incremental(s scenarioResult, inc incrementalResult) {
	m, run := inc.Min, inc.Run
	r.printf("%s\n", inc.Label)
	if a := inc.Advance; a != nil {
		r.printf("  advance               %d new pipelines, %d workflows finished, %d jobs finished, %d jobs not run, "+
			"%d rerun workflows\n", len(a.NewPipelines), len(a.FinishedWorkflows), len(a.FinishedJobs), len(a.NotRunJobs),
			len(a.RerunWorkflows))
	}
	var disc int64
	for _, k := range discoveryRoutes {
		disc += run.Stats.Count(k, 0)
	}
	r.printf("  wall time             %s\n", secs(run.Wall))
	r.printf("  minimum               %s\n", m)
	r.printf("  overlap               %d more pipelines lie within the overlap (1h before the project's newest): "+
		"their %d workflow lists are not in the minimum\n", m.OverlapPipelines, m.OverlapWorkflowLists)
	ratio := float64(run.Stats.Total) / float64(max(m.Total(), 1))
	line := fmt.Sprintf("  API requests          %d vs minimum %d: %.3fx (%d on discovery routes)", run.Stats.Total,
		m.Total(), ratio, disc)
	if inc.Advance == nil {
		line += fmt.Sprintf("  target ≤ minimum %s", r.target(fmt.Sprintf("%s/%s %s requests", s.Setting.Name, s.Backend, inc.Label),
			fmt.Sprintf("%d vs %d", run.Stats.Total, m.Total()), "≤ minimum", run.Stats.Total <= int64(m.Total())))
	}
	r.printf("%s\n", line)
	r.routes(run.Stats, m.byRoute())
	r.printf("  rate                  %.1f req/s overall; first request after %s; 429s %d\n", run.Arrivals.Overall,
		secs(run.Arrivals.FirstArrival), run.Stats.CountStatus(429))
	r.printf("  history               %s events in %d workflows\n", thousands(int64(inc.History.Events)), len(inc.History.Runs))
	r.printf("  tables vs Expected    %s\n", tablesText(inc.Tables))
}

// fiveX prints the RSS flatness check.
func (r *benchReport) fiveX(small, large scenarioResult) {
	growth := float64(large.PeakRSSKB-small.PeakRSSKB) / float64(small.PeakRSSKB)
	r.printf("\n== RSS flatness: %s / %s at %d and %d pipelines ==\n", large.Setting.Name, large.Backend,
		len(small.Expected.Pipelines), len(large.Expected.Pipelines))
	r.printf("  5x sync               %s, %s requests (%.4fx minimum %s), %.1f req/s overall, %.1f steady; "+
		"row counts %s\n", secs(large.Full.Wall), thousands(large.Full.Stats.Total),
		float64(large.Full.Stats.Total)/float64(large.Expected.MinimumRequests.Total),
		thousands(int64(large.Expected.MinimumRequests.Total)), large.Full.Arrivals.Overall, large.Full.Arrivals.Steady,
		countsText(large.RowsByTable, large.Expected))
	r.printf("  worker peak RSS       %.1f MiB at 1x, %.1f MiB at %dx: %+.1f%%  target < +%.0f%% %s; ≤ %.0f MiB at 5x %s\n",
		mib(small.PeakRSSKB), mib(large.PeakRSSKB), large.Pipelines/small.Pipelines, 100*growth, 100*targetRSSGrowth,
		r.target("RSS growth at 5x", fmt.Sprintf("%+.1f%%", 100*growth), fmt.Sprintf("< +%.0f%%", 100*targetRSSGrowth), growth < targetRSSGrowth),
		targetPeakRSSMiB, r.target("worker peak RSS at 5x", fmt.Sprintf("%.1f MiB", mib(large.PeakRSSKB)),
			fmt.Sprintf("≤ %.0f MiB", targetPeakRSSMiB), mib(large.PeakRSSKB) <= targetPeakRSSMiB))
	per1000 := float64(large.History.Events) / (float64(len(large.Expected.Pipelines)) / 1000)
	r.printf("  history               %s events: %.1f per 1,000 pipelines\n", thousands(int64(large.History.Events)), per1000)
}

// storeBench prints BenchmarkWriteBatch's rows/s from the store benchmarks'
// output (path), with the PostgreSQL target.
func (r *benchReport) storeBench(path string) {
	r.printf("\n== store benchmarks (go test -bench . ./store/, output %s) ==\n", path)
	f, err := os.Open(path)
	if err != nil {
		r.printf("  cannot read it: %v\n", err)
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	found := false
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "BenchmarkWriteBatch") {
			continue
		}
		for i := 1; i < len(fields); i++ {
			if fields[i] != "rows/s" {
				continue
			}
			v, err := strconv.ParseFloat(fields[i-1], 64)
			if err != nil {
				continue
			}
			found = true
			name := fields[0]
			r.printf("  %-44s %s rows/s", name, thousands(int64(v)))
			if strings.HasPrefix(name, "BenchmarkWriteBatch/postgres") {
				r.printf("  target ≥ %s %s", thousands(targetPostgresRows), r.target("PostgreSQL writes (BenchmarkWriteBatch)",
					thousands(int64(v))+" rows/s", "≥ "+thousands(targetPostgresRows)+" rows/s", v >= targetPostgresRows))
			}
			r.printf("\n")
		}
	}
	if !found {
		r.printf("  no BenchmarkWriteBatch rows/s figure in it (PostgreSQL needs TEST_DATABASE_URL)\n")
	}
}

// printSummary prints every target's verdict.
func (r *benchReport) printSummary() {
	r.printf("\n== targets (not asserted) ==\n")
	for _, l := range r.summary {
		r.printf("  %-4s %-86s %-16s %s\n", l.verdict, l.what, l.figure, l.target)
	}
}

// fakeFaultsText describes the fake's pacing faults.
func fakeFaultsText(f circlecitest.Faults) string {
	s := fmt.Sprintf("latency %s", f.Latency)
	if f.RateLimit > 0 {
		s += fmt.Sprintf(", token bucket %g req/s burst %d (RateLimit-* headers, 429 + Retry-After)", f.RateLimit, f.RateBurst)
	} else {
		s += ", no rate limit"
	}
	return s
}

// rowsText lists the row counts by table.
func rowsText(by map[string]int64) string {
	var parts []string
	for _, q := range tableQueries {
		parts = append(parts, fmt.Sprintf("%s %s", strings.TrimPrefix(q.table, "circleci_"), thousands(by[q.table])))
	}
	return strings.Join(parts, ", ")
}

// tablesText sums up a comparison with Expected.
func tablesText(rep dbReport) string {
	missing, extra, mismatched := 0, 0, 0
	for _, d := range rep.Tables {
		missing += d.Missing
		extra += d.Extra
		mismatched += d.Mismatched
	}
	verdict := "equal"
	if !rep.clean() {
		verdict = "DIFFER"
	}
	return fmt.Sprintf("%s (%s rows compared, %d missing, %d extra, %d mismatched)", verdict,
		thousands(int64(rep.compared())), missing, extra, mismatched)
}

// countsEqual tells whether the row counts are Expected's.
func countsEqual(by map[string]int64, ex circlecitest.Expected) bool {
	want := expectedCounts(ex)
	for k, v := range want {
		if by[k] != v {
			return false
		}
	}
	return true
}

// expectedCounts is the number of rows of each table Expected holds.
func expectedCounts(ex circlecitest.Expected) map[string]int64 {
	return map[string]int64{
		"circleci_projects": int64(len(ex.Projects)), "circleci_pipelines": int64(len(ex.Pipelines)),
		"circleci_workflows": int64(len(ex.Workflows)), "circleci_jobs": int64(len(ex.Jobs)),
		"circleci_users": int64(len(ex.Users)), "circleci_skipped": int64(len(ex.Unreachable)),
	}
}

// countsText says whether the row counts are Expected's.
func countsText(by map[string]int64, ex circlecitest.Expected) string {
	if countsEqual(by, ex) {
		return "equal Expected's"
	}
	return fmt.Sprintf("DIFFER: stored %v, expected %v", by, expectedCounts(ex))
}

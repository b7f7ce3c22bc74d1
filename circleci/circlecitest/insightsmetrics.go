package circlecitest

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// insightsSummaries returns, by name, the summary of each workflow name of project pi
// with a run created in the window (running and on_hold ones count, as on CircleCI),
// leaving out runs younger than the lag.
func (w *world) insightsSummaries(pi int, f branchFilter, window time.Duration, sets faultSets) []wireWorkflowSummary {
	byName := w.windowRuns(pi, f, window, sets)
	out := []wireWorkflowSummary{}
	for name, runs := range byName {
		out = append(out, wireWorkflowSummary{Name: name, Metrics: w.runsMetrics(runs, window),
			WindowStart: wireTime(runs[0].CreatedAt), WindowEnd: wireTime(runs[len(runs)-1].CreatedAt),
			ProjectID: w.projects[pi].ID})
	}
	slices.SortFunc(out, func(a, b wireWorkflowSummary) int { return cmpString(a.Name, b.Name) })
	return out
}

// windowRuns returns, by name, the runs of project pi Insights summarises over the
// window ending now: created in it but not within the lag, oldest first.
func (w *world) windowRuns(pi int, f branchFilter, window time.Duration, sets faultSets) map[string][]*Workflow {
	last := w.now.Add(-w.insightsLag())
	first := w.now.Add(-window)
	byName := map[string][]*Workflow{}
	w.projectWorkflows(pi, sets, func(p *Pipeline, wf *Workflow) {
		if wf.CreatedAt.Before(first) || wf.CreatedAt.After(last) || (!f.all && p.Branch() != f.branch) {
			return
		}
		byName[wf.Name] = append(byName[wf.Name], wf)
	})
	for _, runs := range byName {
		slices.SortFunc(runs, func(a, b *Workflow) int {
			return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmpString(a.ID, b.ID))
		})
	}
	return byName
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// runsMetrics sums up runs (oldest first) over a window. The success rate leaves
// canceled runs out (Insights glossary: successful / (all - canceled)); 0 without any.
func (w *world) runsMetrics(runs []*Workflow, window time.Duration) wireRunsMetrics {
	var m wireRunsMetrics
	var credits, canceled int64
	var durations []int64
	for _, wf := range runs {
		m.TotalRuns++
		switch wf.Status {
		case workflowStatusSuccess:
			m.SuccessfulRuns++
		case workflowStatusFailed:
			m.FailedRuns++
		case workflowStatusCanceled:
			canceled++
		}
		credits += w.credits(wf)
		if d := runDuration(wf); d != nil && insightsRunStatuses[wf.Status] {
			durations = append(durations, *d)
		}
	}
	if decided := m.TotalRuns - canceled; decided > 0 {
		m.SuccessRate = float64(m.SuccessfulRuns) / float64(decided)
	}
	m.Throughput = float64(m.TotalRuns) / window.Hours() * 24
	m.TotalCreditsUsed = &credits
	recoveries, mttr := recoveries(runs)
	m.TotalRecoveries, m.MTTR = &recoveries, mttr
	m.DurationMetrics = durationMetrics(durations)
	return m
}

// recoveries counts failures followed by a success and returns the mean time, in
// seconds, from a failure to its next success (nil without any).
func recoveries(runs []*Workflow) (int64, *int64) {
	var n, total int64
	var failedAt *time.Time
	for _, wf := range runs {
		switch {
		case wf.Status == workflowStatusFailed && failedAt == nil && wf.StoppedAt != nil:
			failedAt = wf.StoppedAt
		case wf.Status == workflowStatusSuccess && failedAt != nil && wf.StoppedAt != nil:
			n++
			total += int64(wf.StoppedAt.Sub(*failedAt) / time.Second)
			failedAt = nil
		}
	}
	if n == 0 {
		return 0, nil
	}
	mean := total / n
	return n, &mean
}

// durationMetrics are the min, mean, median, p95 (nearest rank), max and standard
// deviation of durations in seconds; all null without any.
func durationMetrics(ds []int64) wireDurationMetrics {
	if len(ds) == 0 {
		return wireDurationMetrics{}
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	mean := sum / float64(len(ds))
	var sq float64
	for _, d := range ds {
		sq += (float64(d) - mean) * (float64(d) - mean)
	}
	sd := math.Sqrt(sq / float64(len(ds)))
	at := func(q float64) *int64 {
		v := ds[max(0, int(math.Ceil(q*float64(len(ds))))-1)]
		return &v
	}
	meanInt := int64(math.Round(mean))
	return wireDurationMetrics{Min: &ds[0], Mean: &meanInt, Median: at(0.5), P95: at(0.95),
		Max: &ds[len(ds)-1], StandardDeviation: &sd}
}

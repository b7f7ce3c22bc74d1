package circlecitest

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Insights' view of the dataset. Runs under expired or broken pipelines are left out,
// so that Expected stays what a complete sync can store (a deviation kept on purpose).

// insightsRunStatuses are the statuses Insights lists: terminal ones, not not_run.
var insightsRunStatuses = map[string]bool{
	workflowStatusSuccess: true, workflowStatusFailed: true, workflowStatusError: true,
	workflowStatusCanceled: true, "unauthorized": true,
}

// wireRun is one item of GET /insights/{slug}/workflows/{name}: no pipeline id.
type wireRun struct {
	ID          string    `json:"id"`
	Branch      string    `json:"branch"`
	Duration    *int64    `json:"duration"`
	CreatedAt   wireTime  `json:"created_at"`
	StoppedAt   *wireTime `json:"stopped_at"`
	CreditsUsed int64     `json:"credits_used"`
	Status      *string   `json:"status"`
	IsApproval  bool      `json:"is_approval"`
}

// wireWorkflowSummary is one item of GET /insights/{slug}/workflows.
type wireWorkflowSummary struct {
	Name        string          `json:"name"`
	Metrics     wireRunsMetrics `json:"metrics"`
	WindowStart wireTime        `json:"window_start"`
	WindowEnd   wireTime        `json:"window_end"`
	ProjectID   string          `json:"project_id"`
}

type wireRunsMetrics struct {
	TotalRuns        int64               `json:"total_runs"`
	SuccessfulRuns   int64               `json:"successful_runs"`
	MTTR             *int64              `json:"mttr"`
	TotalCreditsUsed *int64              `json:"total_credits_used"`
	FailedRuns       int64               `json:"failed_runs"`
	SuccessRate      float64             `json:"success_rate"`
	DurationMetrics  wireDurationMetrics `json:"duration_metrics"`
	TotalRecoveries  *int64              `json:"total_recoveries"`
	Throughput       float64             `json:"throughput"`
}

type wireDurationMetrics struct {
	Min               *int64   `json:"min"`
	Mean              *int64   `json:"mean"`
	Median            *int64   `json:"median"`
	P95               *int64   `json:"p95"`
	Max               *int64   `json:"max"`
	StandardDeviation *float64 `json:"standard_deviation"`
}

// insightsLag is how long a finished run takes to show in Insights.
func (w *world) insightsLag() time.Duration {
	switch {
	case w.opts.InsightsLag < 0:
		return 0
	case w.opts.InsightsLag == 0:
		return DefaultInsightsLag
	}
	return w.opts.InsightsLag
}

// projectWorkflows calls f on every workflow of project pi not under an expired or
// broken pipeline, newest pipeline first.
func (w *world) projectWorkflows(pi int, sets faultSets, f func(p *Pipeline, wf *Workflow)) {
	for _, p := range w.byProject[pi] {
		if sets.expired[p.ID] || sets.broken[p.ID] {
			continue
		}
		for _, wf := range w.wfByPipeline[p.ID] {
			f(p, wf)
		}
	}
}

// hasWorkflowName reports whether project pi ever had a workflow of that name.
func (w *world) hasWorkflowName(pi int, name string) bool {
	for _, p := range w.byProject[pi] {
		for _, wf := range w.wfByPipeline[p.ID] {
			if wf.Name == name {
				return true
			}
		}
	}
	return false
}

// insightsRuns returns the runs of name Insights lists for the filter and window,
// newest first: terminal, stopped at least the lag ago, created within the window.
func (w *world) insightsRuns(pi int, name string, f branchFilter, win runsWindow, sets faultSets) []*Workflow {
	var out []*Workflow
	visible := w.now.Add(-w.insightsLag())
	w.projectWorkflows(pi, sets, func(p *Pipeline, wf *Workflow) {
		if wf.Name != name || !insightsRunStatuses[wf.Status] || wf.StoppedAt == nil || wf.StoppedAt.After(visible) ||
			wf.CreatedAt.Before(win.start) || !wf.CreatedAt.Before(win.end) || (!f.all && p.Branch() != f.branch) {
			return
		}
		out = append(out, wf)
	})
	slices.SortFunc(out, func(a, b *Workflow) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out
}

// InsightsRunIDs returns the ids Insights lists for a workflow name of a project, all
// branches, created at or after from, newest first: the truth a repair pass reads.
func (s *Server) InsightsRunIDs(slug, name string, from time.Time) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []string{}
	pi, ok := s.w.slugIndex[slug]
	if !ok {
		return out
	}
	win := runsWindow{start: from.UTC(), end: s.w.now.Add(time.Nanosecond)}
	if horizon := s.w.now.Add(-insightsHorizon); win.start.Before(horizon) {
		win.start = horizon
	}
	for _, wf := range s.w.insightsRuns(pi, name, branchFilter{all: true}, win, s.sets) {
		out = append(out, wf.ID)
	}
	return out
}

// credits is a run's deterministic credits_used: 10 per started minute of its jobs.
func (w *world) credits(wf *Workflow) int64 {
	var n int64
	for _, j := range w.jobsByWf[wf.ID] {
		if j.StartedAt != nil && j.StoppedAt != nil {
			n += 10 * int64(math.Ceil(j.StoppedAt.Sub(*j.StartedAt).Minutes()))
		}
	}
	return n
}

// runDuration is a finished run's duration in whole seconds, nil while it runs.
func runDuration(wf *Workflow) *int64 {
	if wf.StoppedAt == nil {
		return nil
	}
	d := int64(wf.StoppedAt.Sub(wf.CreatedAt) / time.Second)
	return &d
}

// toWireRun is the Insights item of a run.
func (w *world) toWireRun(wf *Workflow) wireRun {
	status := wf.Status
	return wireRun{ID: wf.ID, Branch: w.pipelines[wf.PipelineID].Branch(), Duration: runDuration(wf),
		CreatedAt: wireTime(wf.CreatedAt), StoppedAt: wtp(wf.StoppedAt), CreditsUsed: w.credits(wf),
		Status: &status}
}

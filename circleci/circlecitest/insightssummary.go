package circlecitest

import (
	"maps"
	"net/http"
	"slices"
)

// RouteInsightsSummary is one workflow name's metrics and trends (getWorkflowSummary).
const RouteInsightsSummary = "GET /api/v2/insights/{project-slug}/workflows/{workflow-name}/summary"

// wireNameSummary is the answer of GET /insights/{slug}/workflows/{name}/summary.
type wireNameSummary struct {
	Metrics       wireSummaryMetrics `json:"metrics"`
	Trends        wireSummaryTrends  `json:"trends"`
	WorkflowNames []string           `json:"workflow_names"`
}

// wireSummaryMetrics are the runs metrics of the summary, with its window and the
// runs that completed (terminal, not not_run); no total_recoveries.
type wireSummaryMetrics struct {
	TotalRuns        int64               `json:"total_runs"`
	SuccessfulRuns   int64               `json:"successful_runs"`
	MTTR             *int64              `json:"mttr"`
	TotalCreditsUsed *int64              `json:"total_credits_used"`
	FailedRuns       int64               `json:"failed_runs"`
	SuccessRate      float64             `json:"success_rate"`
	CompletedRuns    *int64              `json:"completed_runs"`
	WindowStart      wireTime            `json:"window_start"`
	DurationMetrics  wireDurationMetrics `json:"duration_metrics"`
	WindowEnd        wireTime            `json:"window_end"`
	Throughput       float64             `json:"throughput"`
}

// wireSummaryTrends compare each metric with the previous window's. The fake's are all
// 0: the previous 90 days lie past Insights' horizon, so there is nothing to compare.
type wireSummaryTrends struct {
	TotalRuns          float64 `json:"total_runs"`
	FailedRuns         float64 `json:"failed_runs"`
	SuccessRate        float64 `json:"success_rate"`
	P95DurationSecs    float64 `json:"p95_duration_secs"`
	MedianDurationSecs float64 `json:"median_duration_secs"`
	TotalCreditsUsed   float64 `json:"total_credits_used"`
	MTTR               float64 `json:"mttr"`
	Throughput         float64 `json:"throughput"`
}

// handleInsightsSummary answers GET /insights/{slug}/workflows/{name}/summary: the
// name's metrics over Insights' 90 days on a branch or all, and the project's names.
func (s *Server) handleInsightsSummary(w http.ResponseWriter, r *http.Request, a routeArgs, _ principal, i int) {
	if !s.w.hasWorkflowName(i, a.name) {
		writeError(w, http.StatusNotFound, msgWorkflowNotFound)
		return
	}
	f, ok := parseBranchFilter(w, r.URL.Query(), s.w.projects[i].VCSInfo.DefaultBranch)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.w.nameSummary(i, a.name, f, s.sets))
}

// nameSummary is the summary of workflow name of project pi over the last 90 days;
// window_start and window_end are its first and last run (the window's ends without).
func (w *world) nameSummary(pi int, name string, f branchFilter, sets faultSets) wireNameSummary {
	byName := w.windowRuns(pi, f, insightsHorizon, sets)
	runs := byName[name]
	m := w.runsMetrics(runs, insightsHorizon)
	var completed int64
	for _, wf := range runs {
		if insightsRunStatuses[wf.Status] {
			completed++
		}
	}
	start, end := w.now.Add(-insightsHorizon), w.now.Add(-w.insightsLag())
	if len(runs) > 0 {
		start, end = runs[0].CreatedAt, runs[len(runs)-1].CreatedAt
	}
	names := slices.Sorted(maps.Keys(w.windowRuns(pi, branchFilter{all: true}, insightsHorizon, sets)))
	return wireNameSummary{
		Metrics: wireSummaryMetrics{TotalRuns: m.TotalRuns, SuccessfulRuns: m.SuccessfulRuns, MTTR: m.MTTR,
			TotalCreditsUsed: m.TotalCreditsUsed, FailedRuns: m.FailedRuns, SuccessRate: m.SuccessRate,
			CompletedRuns: &completed, WindowStart: wireTime(start), DurationMetrics: m.DurationMetrics,
			WindowEnd: wireTime(end), Throughput: m.Throughput},
		WorkflowNames: names,
	}
}

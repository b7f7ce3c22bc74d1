package circlecitest

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Insights routes (Stats keys).
const (
	// RouteInsightsWorkflows is the summary of a project's workflows, one item per name.
	RouteInsightsWorkflows = "GET /api/v2/insights/{project-slug}/workflows"
	// RouteInsightsRuns is the recent runs of one workflow name.
	RouteInsightsRuns = "GET /api/v2/insights/{project-slug}/workflows/{workflow-name}"
)

// insightsRoutes are the Insights operations the fake answers.
var insightsRoutes = []apiRoute{
	{key: RouteInsightsWorkflows, short: "insights_workflows", list: true,
		handle: withProject((*Server).handleInsightsWorkflows)},
	{key: RouteInsightsRuns, short: "insights_runs", list: true, handle: withProject((*Server).handleInsightsRuns)},
	{key: RouteInsightsSummary, short: "insights_summary", handle: withProject((*Server).handleInsightsSummary)},
}

// insightsHorizon is how far back Insights keeps runs.
const insightsHorizon = 90 * 24 * time.Hour

// branchFilter is the all-branches and branch parameters: all, else one branch (the
// project's default branch when none is given). all-branches wins over branch.
type branchFilter struct {
	all    bool
	branch string
}

// scope names the filter in page-token scopes.
func (f branchFilter) scope() string {
	if f.all {
		return "*"
	}
	return "=" + f.branch
}

// parseBranchFilter reads the filter, answering 400 for a bad all-branches.
func parseBranchFilter(w http.ResponseWriter, q url.Values, defaultBranch string) (branchFilter, bool) {
	f := branchFilter{branch: q.Get("branch")}
	if v := q.Get("all-branches"); v != "" {
		all, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Invalid input: all-branches must be a boolean")
			return f, false
		}
		f.all = all
	}
	if !f.all && f.branch == "" {
		f.branch = defaultBranch
	}
	return f, true
}

// runsWindow is the start-date/end-date of a runs request: [start, end).
type runsWindow struct {
	start, end time.Time
}

// parseRunsWindow reads start-date and end-date (RFC 3339), answering 400 for a bad
// date, an end without a start, or an end more than 90 days after the start. The
// start is clamped to Insights' 90-day horizon; the end defaults to now.
func parseRunsWindow(w http.ResponseWriter, q url.Values, now time.Time) (runsWindow, bool) {
	var win runsWindow
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"start-date", &win.start}, {"end-date", &win.end}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "Invalid input: "+p.name+" must be a date-time")
				return win, false
			}
			*p.t = t.UTC()
		}
	}
	switch {
	case !win.end.IsZero() && win.start.IsZero():
		writeError(w, http.StatusBadRequest, "Invalid input: start-date must be specified with end-date")
		return win, false
	case !win.end.IsZero() && win.end.After(win.start.Add(insightsHorizon)):
		writeError(w, http.StatusBadRequest, "Invalid input: end-date must be at most 90 days after start-date")
		return win, false
	}
	if horizon := now.Add(-insightsHorizon); win.start.Before(horizon) {
		win.start = horizon
	}
	if win.end.IsZero() {
		win.end = now.Add(time.Nanosecond)
	}
	return win, true
}

// handleInsightsRuns answers GET /insights/{slug}/workflows/{name}: the terminal
// runs of that name, newest first, without pipeline ids (as CircleCI).
func (s *Server) handleInsightsRuns(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal, i int) {
	proj := s.w.projects[i]
	if !s.w.hasWorkflowName(i, a.name) {
		writeError(w, http.StatusNotFound, msgWorkflowNotFound)
		return
	}
	q := r.URL.Query()
	f, ok := parseBranchFilter(w, q, proj.VCSInfo.DefaultBranch)
	if !ok {
		return
	}
	win, ok := parseRunsWindow(w, q, s.w.now)
	if !ok {
		return
	}
	runs := s.w.insightsRuns(i, a.name, f, win, s.sets)
	sc := scope("insights-runs", pr.name, proj.Slug, a.name, f.scope(),
		win.start.Format(time.RFC3339Nano), win.end.Format(time.RFC3339Nano))
	servePage(s, w, r, sc, runPages(runs), s.w.toWireRun)
}

// handleInsightsWorkflows answers GET /insights/{slug}/workflows: one summary per
// workflow name with a run in the reporting window, by name.
func (s *Server) handleInsightsWorkflows(w http.ResponseWriter, r *http.Request, _ routeArgs, pr principal, i int) {
	proj := s.w.projects[i]
	q := r.URL.Query()
	f, ok := parseBranchFilter(w, q, proj.VCSInfo.DefaultBranch)
	if !ok {
		return
	}
	window := q.Get("reporting-window")
	if window == "" {
		window = "last-90-days"
	}
	days, ok := reportingWindows[window]
	if !ok {
		writeError(w, http.StatusBadRequest, "Invalid input: reporting-window must be one of last-24-hours, "+
			"last-7-days, last-30-days, last-60-days, last-90-days")
		return
	}
	sums := s.w.insightsSummaries(i, f, time.Duration(days*float64(24*time.Hour)), s.sets)
	sc := scope("insights-workflows", pr.name, proj.Slug, f.scope(), window)
	servePage(s, w, r, sc, idPages(sums, func(m wireWorkflowSummary) string { return m.Name }),
		func(m wireWorkflowSummary) wireWorkflowSummary { return m })
}

// reportingWindows are the reporting-window values, in days.
var reportingWindows = map[string]float64{
	"last-24-hours": 1, "last-7-days": 7, "last-30-days": 30, "last-60-days": 60, "last-90-days": 90,
}

// runPages pages runs (newest first by created_at, then id) after a cursor.
func runPages(runs []*Workflow) pageFunc[*Workflow] {
	return func(after *cursor) ([]*Workflow, *cursor, bool) {
		start := 0
		if after != nil {
			for start < len(runs) {
				t := runs[start].CreatedAt.UnixNano()
				if t < after.t || (t == after.t && runs[start].ID < after.id) {
					break
				}
				start++
			}
		}
		end := min(start+PageSize, len(runs))
		var next *cursor
		if end < len(runs) {
			last := runs[end-1]
			next = &cursor{t: last.CreatedAt.UnixNano(), id: last.ID}
		}
		return runs[start:end], next, true
	}
}

package circleci

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Insights route templates.
const (
	RouteInsightsWorkflows = "/api/v2/insights/{project-slug}/workflows"
	RouteInsightsRuns      = "/api/v2/insights/{project-slug}/workflows/{workflow-name}"
)

// SummaryQuery filters InsightsWorkflowsPage: every branch, else Branch (CircleCI's
// default: the project's default branch); ReportingWindow defaults to last-90-days.
type SummaryQuery struct {
	AllBranches     bool
	Branch          string
	ReportingWindow string
}

// RunsQuery filters WorkflowRunsPage: every branch, else Branch (else the default
// branch); runs created in [Start, End), zero meaning unbounded (End needs Start).
type RunsQuery struct {
	AllBranches bool
	Branch      string
	Start, End  time.Time
}

// WorkflowSummary is one workflow name's metrics (getProjectWorkflowMetrics items).
type WorkflowSummary struct {
	Name        string          `json:"name"`
	Metrics     WorkflowMetrics `json:"metrics"`
	WindowStart time.Time       `json:"window_start"`
	WindowEnd   time.Time       `json:"window_end"`
	ProjectID   string          `json:"project_id"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// WorkflowMetrics are the metrics of a WorkflowSummary; nil means null.
type WorkflowMetrics struct {
	TotalRuns        int64           `json:"total_runs"`
	SuccessfulRuns   int64           `json:"successful_runs"`
	FailedRuns       int64           `json:"failed_runs"`
	SuccessRate      float64         `json:"success_rate"`
	MTTR             *int64          `json:"mttr"`
	TotalCreditsUsed *int64          `json:"total_credits_used"`
	TotalRecoveries  *int64          `json:"total_recoveries"`
	Throughput       float64         `json:"throughput"`
	DurationMetrics  DurationMetrics `json:"duration_metrics"`
}

// DurationMetrics are run durations in seconds; nil means null.
type DurationMetrics struct {
	Min               *int64   `json:"min"`
	Mean              *int64   `json:"mean"`
	Median            *int64   `json:"median"`
	P95               *int64   `json:"p95"`
	Max               *int64   `json:"max"`
	StandardDeviation *float64 `json:"standard_deviation"`
}

// WorkflowRun is one run of a workflow name (getProjectWorkflowRuns items). Insights
// gives no pipeline id: GET /workflow/{id} has it.
type WorkflowRun struct {
	ID          string     `json:"id"`
	Branch      string     `json:"branch"`
	Duration    *int64     `json:"duration"`
	CreatedAt   time.Time  `json:"created_at"`
	StoppedAt   *time.Time `json:"stopped_at"`
	CreditsUsed int64      `json:"credits_used"`
	Status      *string    `json:"status"`
	IsApproval  bool       `json:"is_approval"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a summary and keeps its raw JSON.
func (s *WorkflowSummary) UnmarshalJSON(b []byte) error {
	type plain WorkflowSummary
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	s.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a run and keeps its raw JSON.
func (r *WorkflowRun) UnmarshalJSON(b []byte) error {
	type plain WorkflowRun
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	r.Raw = keepRaw(b)
	return nil
}

func (s *WorkflowSummary) validate() error {
	if s.Name == "" {
		return errors.New("workflow summary has no name")
	}
	return nil
}

func (r *WorkflowRun) validate() error {
	if r.ID == "" {
		return errors.New("workflow run has no id")
	}
	if r.CreatedAt.IsZero() {
		return errors.New("workflow run has no created_at")
	}
	return nil
}

// setBranches sets all-branches, else branch when given.
func setBranches(q url.Values, all bool, branch string) {
	switch {
	case all:
		q.Set("all-branches", "true")
	case branch != "":
		q.Set(paramBranch, branch)
	}
}

// InsightsWorkflowsPage returns one page of the summaries of a project's workflows,
// one per name with runs in the reporting window.
func (c *Client) InsightsWorkflowsPage(ctx context.Context, slug string, sq SummaryQuery, pageToken string) (Page[WorkflowSummary], error) {
	if slug == "" {
		return Page[WorkflowSummary]{}, invalidArgument(http.MethodGet, RouteInsightsWorkflows, "empty project slug")
	}
	q := url.Values{}
	setBranches(q, sq.AllBranches, sq.Branch)
	if sq.ReportingWindow != "" {
		q.Set("reporting-window", sq.ReportingWindow)
	}
	setPageToken(q, pageToken)
	r := &request{method: http.MethodGet, route: RouteInsightsWorkflows,
		path: "/api/v2/insights/" + escapeSegment(slug) + "/workflows", query: q}
	return getPage[WorkflowSummary](ctx, c, r)
}

// WorkflowRunsPage returns one page of the terminal runs of workflow name, newest
// first; the name is sent escaped as one path segment, the filters with every page.
// An unknown name gives NotFoundWorkflowName.
func (c *Client) WorkflowRunsPage(ctx context.Context, slug, name string, rq RunsQuery, pageToken string) (Page[WorkflowRun], error) {
	fail := func(msg string) (Page[WorkflowRun], error) {
		return Page[WorkflowRun]{}, invalidArgument(http.MethodGet, RouteInsightsRuns, msg)
	}
	switch {
	case slug == "":
		return fail("empty project slug")
	case name == "":
		return fail("empty workflow name")
	case !rq.End.IsZero() && rq.Start.IsZero():
		return fail("an end date needs a start date")
	}
	q := url.Values{}
	setBranches(q, rq.AllBranches, rq.Branch)
	if !rq.Start.IsZero() {
		q.Set("start-date", rq.Start.UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	if !rq.End.IsZero() {
		end := rq.End.UTC()
		if t := end.Truncate(time.Second); !t.Equal(end) {
			end = t.Add(time.Second) // [Start, End) stays whole
		}
		q.Set("end-date", end.Format(time.RFC3339))
	}
	setPageToken(q, pageToken)
	r := &request{method: http.MethodGet, route: RouteInsightsRuns,
		path: "/api/v2/insights/" + escapeSegment(slug) + "/workflows/" + escapeSegment(name), query: q}
	return getPage[WorkflowRun](ctx, c, r)
}

// InsightsWorkflows iterates over the summaries of a project's workflows (see Items).
func (c *Client) InsightsWorkflows(ctx context.Context, slug string, sq SummaryQuery) iter.Seq2[WorkflowSummary, error] {
	return items(pages(ctx, RouteInsightsWorkflows, func(ctx context.Context, tok string) (Page[WorkflowSummary], error) {
		return c.InsightsWorkflowsPage(ctx, slug, sq, tok)
	}))
}

// WorkflowRuns iterates over the runs of workflow name (see Items).
func (c *Client) WorkflowRuns(ctx context.Context, slug, name string, rq RunsQuery) iter.Seq2[WorkflowRun, error] {
	return items(pages(ctx, RouteInsightsRuns, func(ctx context.Context, tok string) (Page[WorkflowRun], error) {
		return c.WorkflowRunsPage(ctx, slug, name, rq, tok)
	}))
}

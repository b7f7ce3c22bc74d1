package circleci

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Routes of the workflow operations.
const (
	RoutePipelineWorkflow = "/api/v2/pipeline/{pipeline-id}/workflow"
	RouteWorkflow         = "/api/v2/workflow/{id}"
)

// Workflow statuses (Workflow.Status), from the spec.
const (
	WorkflowStatusSuccess      = "success"
	WorkflowStatusRunning      = "running"
	WorkflowStatusNotRun       = "not_run"
	WorkflowStatusFailed       = "failed"
	WorkflowStatusError        = "error"
	WorkflowStatusFailing      = "failing"
	WorkflowStatusOnHold       = "on_hold"
	WorkflowStatusCanceled     = "canceled"
	WorkflowStatusUnauthorized = "unauthorized"
)

// IsTerminalWorkflowStatus reports a status that will not change; unknown ones are not
// terminal, so they are polled again.
func IsTerminalWorkflowStatus(status string) bool {
	switch status {
	case WorkflowStatusSuccess, WorkflowStatusNotRun, WorkflowStatusFailed, WorkflowStatusError,
		WorkflowStatusCanceled, WorkflowStatusUnauthorized:
		return true
	}
	return false
}

// Workflow is one workflow of a pipeline (spec schema "Workflow"). A rerun creates a
// new workflow, with a new id, under the same pipeline.
type Workflow struct {
	ID              string     `json:"id"`
	PipelineID      string     `json:"pipeline_id"`
	PipelineNumber  int64      `json:"pipeline_number"`
	ProjectSlug     string     `json:"project_slug"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	StartedBy       *string    `json:"started_by"`
	CanceledBy      *string    `json:"canceled_by,omitempty"`
	ErroredBy       *string    `json:"errored_by,omitempty"`
	Tag             *string    `json:"tag,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StoppedAt       *time.Time `json:"stopped_at"`
	AutoRerunNumber *int64     `json:"auto_rerun_number,omitempty"`
	MaxAutoReruns   *int64     `json:"max_auto_reruns,omitempty"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a workflow and keeps its raw JSON.
func (w *Workflow) UnmarshalJSON(b []byte) error {
	type plain Workflow
	if err := json.Unmarshal(b, (*plain)(w)); err != nil {
		return err
	}
	w.Raw = keepRaw(b)
	return nil
}

// PipelineWorkflowsPage returns one page of a pipeline's workflows; a pipeline past
// retention gives NotFoundExpired.
func (c *Client) PipelineWorkflowsPage(ctx context.Context, pipelineID, pageToken string) (Page[Workflow], error) {
	if pipelineID == "" {
		return Page[Workflow]{}, invalidArgument(http.MethodGet, RoutePipelineWorkflow, "empty pipeline id")
	}
	q := url.Values{}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RoutePipelineWorkflow,
		path:   "/api/v2/pipeline/" + escapeSegment(pipelineID) + "/workflow",
		query:  q,
	}
	return getPage[Workflow](ctx, c, r)
}

// Workflow returns the workflow with id id (GET /api/v2/workflow/{id}).
func (c *Client) Workflow(ctx context.Context, id string) (Workflow, error) {
	if id == "" {
		return Workflow{}, invalidArgument(http.MethodGet, RouteWorkflow, "empty workflow id")
	}
	r := &request{method: http.MethodGet, route: RouteWorkflow, path: "/api/v2/workflow/" + escapeSegment(id)}
	return get(ctx, c, r, decodeObject[Workflow])
}

// PipelineWorkflows iterates over the workflows of a pipeline, page after page (see
// Items).
func (c *Client) PipelineWorkflows(ctx context.Context, pipelineID string) iter.Seq2[Workflow, error] {
	return items(pages(ctx, RoutePipelineWorkflow, func(ctx context.Context, tok string) (Page[Workflow], error) {
		return c.PipelineWorkflowsPage(ctx, pipelineID, tok)
	}))
}

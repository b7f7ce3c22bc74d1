package circleci

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// RouteWorkflowJobs is the route of a workflow's job list.
const RouteWorkflowJobs = "/api/v2/workflow/{id}/job"

// Job statuses (Job.Status), from the spec.
const (
	JobStatusSuccess            = "success"
	JobStatusRunning            = "running"
	JobStatusNotRun             = "not_run"
	JobStatusFailed             = "failed"
	JobStatusRetried            = "retried"
	JobStatusQueued             = "queued"
	JobStatusNotRunning         = "not_running"
	JobStatusInfrastructureFail = "infrastructure_fail"
	JobStatusTimedOut           = "timedout"
	JobStatusOnHold             = "on_hold"
	JobStatusTerminatedUnknown  = "terminated-unknown"
	JobStatusBlocked            = "blocked"
	JobStatusCanceled           = "canceled"
	JobStatusUnauthorized       = "unauthorized"
)

// Job types (Job.Type), from the spec.
const (
	JobTypeBuild    = "build"
	JobTypeApproval = "approval"
)

// IsTerminalJobStatus reports whether a job in this status will not change again.
// Unknown statuses count as not terminal.
func IsTerminalJobStatus(status string) bool {
	switch status {
	case JobStatusSuccess, JobStatusNotRun, JobStatusFailed, JobStatusRetried,
		JobStatusInfrastructureFail, JobStatusTimedOut, JobStatusTerminatedUnknown,
		JobStatusCanceled, JobStatusUnauthorized:
		return true
	}
	return false
}

// Job is one job of a workflow (spec schema of the items of "WorkflowJobListResponse").
type Job struct {
	ID                string              `json:"id"`
	Name              string              `json:"name"`
	Type              string              `json:"type"`
	Status            string              `json:"status"`
	ProjectSlug       string              `json:"project_slug"`
	JobNumber         *int64              `json:"job_number,omitempty"`
	Dependencies      []string            `json:"dependencies"`
	Requires          map[string][]string `json:"requires,omitempty"`
	StartedAt         *time.Time          `json:"started_at"`
	StoppedAt         *time.Time          `json:"stopped_at"`
	ApprovedBy        *string             `json:"approved_by,omitempty"`
	CanceledBy        *string             `json:"canceled_by,omitempty"`
	ApprovalRequestID *string             `json:"approval_request_id,omitempty"`

	// WorkflowID is the workflow the job was listed under. CircleCI does not send it;
	// the client fills it in from the request.
	WorkflowID string `json:"-"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes a job and keeps its raw JSON.
func (j *Job) UnmarshalJSON(b []byte) error {
	type plain Job
	if err := json.Unmarshal(b, (*plain)(j)); err != nil {
		return err
	}
	j.Raw = keepRaw(b)
	return nil
}

// WorkflowJobsPage returns one page of a workflow's jobs, each with WorkflowID set. It
// sends page-token although the spec omits it (the list pages in practice). A workflow
// past retention gives NotFoundExpired.
func (c *Client) WorkflowJobsPage(ctx context.Context, workflowID, pageToken string) (Page[Job], error) {
	if workflowID == "" {
		return Page[Job]{}, invalidArgument(http.MethodGet, RouteWorkflowJobs, "empty workflow id")
	}
	q := url.Values{}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RouteWorkflowJobs,
		path:   "/api/v2/workflow/" + escapeSegment(workflowID) + "/job",
		query:  q,
	}
	p, err := getPage[Job](ctx, c, r)
	if err != nil {
		return p, err
	}
	for i := range p.Items {
		p.Items[i].WorkflowID = workflowID
	}
	return p, nil
}

// WorkflowJobs iterates over the jobs of a workflow, page after page (see Items),
// with Job.WorkflowID set.
func (c *Client) WorkflowJobs(ctx context.Context, workflowID string) iter.Seq2[Job, error] {
	return items(pages(ctx, RouteWorkflowJobs, func(ctx context.Context, tok string) (Page[Job], error) {
		return c.WorkflowJobsPage(ctx, workflowID, tok)
	}))
}

package circleci

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// RouteJobDetails is the route of a job's details.
const RouteJobDetails = "/api/v2/project/{project-slug}/job/{job-number}"

// JobDetails is one job's details (spec: the 200 answer of getJobDetails). Only the
// fields the sync stores are decoded; Raw keeps the rest.
type JobDetails struct {
	Number         int64          `json:"number"`
	Name           string         `json:"name"`
	Status         string         `json:"status"`
	WebURL         string         `json:"web_url"`
	CreatedAt      *time.Time     `json:"created_at"`
	QueuedAt       *time.Time     `json:"queued_at"`
	StartedAt      *time.Time     `json:"started_at"`
	StoppedAt      *time.Time     `json:"stopped_at,omitempty"`
	Duration       *int64         `json:"duration"`
	Parallelism    int64          `json:"parallelism"`
	Executor       JobExecutor    `json:"executor"`
	Contexts       []JobContext   `json:"contexts"`
	LatestWorkflow JobWorkflowRef `json:"latest_workflow"`
	Pipeline       struct {
		ID string `json:"id"`
	} `json:"pipeline"`

	// ProjectSlug is the project the details were asked of; the client fills it in
	// from the request (as stored in circleci_jobs).
	ProjectSlug string `json:"-"`
	// JobID is the job's id in its workflow's job list: details do not carry it, the
	// caller sets it.
	JobID string `json:"-"`

	// Raw is the object exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// JobExecutor is the executor of a job: its resource class and type.
type JobExecutor struct {
	ResourceClass string `json:"resource_class"`
	Type          string `json:"type,omitempty"`
}

// JobContext is a context a job used.
type JobContext struct {
	Name string `json:"name"`
}

// JobWorkflowRef names the latest workflow a job was part of.
type JobWorkflowRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UnmarshalJSON decodes job details and keeps their raw JSON.
func (d *JobDetails) UnmarshalJSON(b []byte) error {
	type plain JobDetails
	if err := json.Unmarshal(b, (*plain)(d)); err != nil {
		return err
	}
	d.Raw = keepRaw(b)
	return nil
}

// JobDetails returns the details of the project's job number (GET
// /api/v2/project/{slug}/job/{number}), with ProjectSlug set to slug.
func (c *Client) JobDetails(ctx context.Context, slug string, number int64) (JobDetails, error) {
	if slug == "" || number <= 0 {
		return JobDetails{}, invalidArgument(http.MethodGet, RouteJobDetails, "empty project slug or job number")
	}
	r := &request{
		method: http.MethodGet,
		route:  RouteJobDetails,
		path:   "/api/v2/project/" + escapeSegment(slug) + "/job/" + strconv.FormatInt(number, 10),
	}
	d, err := get(ctx, c, r, decodeObject[JobDetails])
	if err != nil {
		return d, err
	}
	d.ProjectSlug = slug
	return d, nil
}

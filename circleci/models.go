package circleci

import (
	"encoding/json"
	"time"
)

// The models follow the v2 OpenAPI spec's names and enums and decode leniently where
// the live API differs (docs/design.md, "Lenient decoding"); each keeps its wire JSON.

// Pipeline states (Pipeline.State), from the spec.
const (
	PipelineStateCreated      = "created"
	PipelineStateErrored      = "errored"
	PipelineStateSetupPending = "setup-pending"
	PipelineStateSetup        = "setup"
	PipelineStatePending      = "pending"
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

// IsFinalPipelineState reports "created" or "errored"; unknown states are not final,
// so they are polled again.
func IsFinalPipelineState(state string) bool {
	return state == PipelineStateCreated || state == PipelineStateErrored
}

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

// Pipeline is one CircleCI pipeline (spec schema "Pipeline").
type Pipeline struct {
	ID                string                     `json:"id"`
	Errors            []PipelineError            `json:"errors"`
	ProjectSlug       string                     `json:"project_slug"`
	UpdatedAt         *time.Time                 `json:"updated_at"`
	Number            int64                      `json:"number"`
	TriggerParameters map[string]json.RawMessage `json:"trigger_parameters,omitempty"`
	State             string                     `json:"state"`
	CreatedAt         time.Time                  `json:"created_at"`
	Trigger           Trigger                    `json:"trigger"`
	VCS               *VCS                       `json:"vcs,omitempty"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// PipelineError is one entry of Pipeline.Errors.
type PipelineError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Trigger says what started a pipeline. Its actor carries a login, never a user id.
type Trigger struct {
	Type       string    `json:"type"`
	ReceivedAt time.Time `json:"received_at"`
	Actor      Actor     `json:"actor"`
}

// Actor is the login that triggered a pipeline.
type Actor struct {
	Login     string  `json:"login"`
	AvatarURL *string `json:"avatar_url"`
}

// VCS is a pipeline's version-control information. It is optional: pipelines started
// by pipeline definitions may carry their git data in TriggerParameters instead.
type VCS struct {
	ProviderName        string  `json:"provider_name"`
	OriginRepositoryURL string  `json:"origin_repository_url"`
	TargetRepositoryURL string  `json:"target_repository_url"`
	Revision            *string `json:"revision"`
	Branch              *string `json:"branch,omitempty"`
	Tag                 *string `json:"tag,omitempty"`
	ReviewID            *string `json:"review_id,omitempty"`
	ReviewURL           *string `json:"review_url,omitempty"`
	Commit              *Commit `json:"commit,omitempty"`
}

// Commit is the commit a pipeline built.
type Commit struct {
	Subject *string `json:"subject"`
	Body    *string `json:"body"`
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

// User is a CircleCI user (spec schema "User"), as answered by /me and /user/{id}.
type User struct {
	ID        string  `json:"id"`
	Login     string  `json:"login"`
	Name      string  `json:"name"`
	AvatarURL *string `json:"avatar_url"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// Project is a CircleCI project (spec schema "Project").
type Project struct {
	ID               string  `json:"id"`
	Slug             string  `json:"slug"`
	Name             string  `json:"name"`
	OrganizationName string  `json:"organization_name"`
	OrganizationSlug string  `json:"organization_slug"`
	OrganizationID   string  `json:"organization_id"`
	VCSInfo          VCSInfo `json:"vcs_info"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// VCSInfo is a project's repository.
type VCSInfo struct {
	VCSURL        string `json:"vcs_url"`
	Provider      string `json:"provider"`
	DefaultBranch string `json:"default_branch"`
}

// Collaboration is an organization of the token's user (/me/collaborations); both the
// spec's "vcs-type" and the live "vcs_type" decode into VCSType.
type Collaboration struct {
	ID        *string `json:"id"`
	VCSType   string  `json:"vcs_type"`
	Name      string  `json:"name"`
	AvatarURL string  `json:"avatar_url"`
	Slug      string  `json:"slug"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// FollowedProject is one item of the v1.1 GET /projects list: a project the token's
// user follows. It carries no slug; Slug builds one from VCSURL.
type FollowedProject struct {
	VCSURL   string `json:"vcs_url"`
	Username string `json:"username"`
	Reponame string `json:"reponame"`
	VCSType  string `json:"vcs_type,omitempty"`

	// Raw is the item exactly as CircleCI sent it.
	Raw json.RawMessage `json:"-"`
}

// keepRaw copies b so a decoded item does not alias the decoder's buffer.
func keepRaw(b []byte) json.RawMessage { return append(json.RawMessage(nil), b...) }

// UnmarshalJSON decodes a pipeline and keeps its raw JSON.
func (p *Pipeline) UnmarshalJSON(b []byte) error {
	type plain Pipeline
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Raw = keepRaw(b)
	return nil
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

// UnmarshalJSON decodes a job and keeps its raw JSON.
func (j *Job) UnmarshalJSON(b []byte) error {
	type plain Job
	if err := json.Unmarshal(b, (*plain)(j)); err != nil {
		return err
	}
	j.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a user and keeps its raw JSON.
func (u *User) UnmarshalJSON(b []byte) error {
	type plain User
	if err := json.Unmarshal(b, (*plain)(u)); err != nil {
		return err
	}
	u.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a project and keeps its raw JSON.
func (p *Project) UnmarshalJSON(b []byte) error {
	type plain Project
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	p.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a collaboration, accepting both "vcs_type" (what CircleCI
// sends) and "vcs-type" (what the spec says), and keeps its raw JSON.
func (c *Collaboration) UnmarshalJSON(b []byte) error {
	type plain Collaboration
	var v struct {
		plain
		VCSTypeSpec *string `json:"vcs-type"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = Collaboration(v.plain)
	if c.VCSType == "" && v.VCSTypeSpec != nil {
		c.VCSType = *v.VCSTypeSpec
	}
	c.Raw = keepRaw(b)
	return nil
}

// UnmarshalJSON decodes a followed project and keeps its raw JSON.
func (f *FollowedProject) UnmarshalJSON(b []byte) error {
	type plain FollowedProject
	if err := json.Unmarshal(b, (*plain)(f)); err != nil {
		return err
	}
	f.Raw = keepRaw(b)
	return nil
}

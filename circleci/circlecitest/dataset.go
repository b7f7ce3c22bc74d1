package circlecitest

import (
	"maps"
	"slices"
	"time"
)

// Dataset is a deep copy of everything the fake serves, in this package's types, which
// mirror the wire shapes plus a few fields tests need (Job.WorkflowID, …).
type Dataset struct {
	// Now is the dataset clock.
	Now time.Time `json:"now"`
	// Projects in generation order: the limited token sees a prefix of it.
	Projects []Project `json:"projects"`
	// Pipelines of all projects, newest first.
	Pipelines []Pipeline `json:"pipelines"`
	// Workflows of all pipelines, in pipeline order, each pipeline's newest first.
	Workflows []Workflow `json:"workflows"`
	// Jobs of all workflows, in workflow order, each in its list order (a job reused
	// by a rerun from failed once per workflow, with that WorkflowID).
	Jobs []Job `json:"jobs"`
	// Users, including the missing ones (see MissingUsers).
	Users []User `json:"users"`
	// Collaborations as the full token sees them.
	Collaborations []Collaboration `json:"collaborations"`
	// FollowedProjects as the full token sees them (v1.1 GET /projects).
	FollowedProjects []FollowedProject `json:"followed_projects"`
	// MeID is the id of the full token's user (GET /me).
	MeID string `json:"me_id"`
	// LimitedMeID is the id of the limited token's user, "" without one.
	LimitedMeID string `json:"limited_me_id,omitempty"`
	// BrokenPipelines are the pipelines whose workflow list answers 500.
	BrokenPipelines []string `json:"broken_pipelines"`
	// ExpiredPipelines are the pipelines past retention.
	ExpiredPipelines []string `json:"expired_pipelines"`
	// MissingUsers are the users whose GET /user/{id} answers 404.
	MissingUsers []string `json:"missing_users"`
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
	// VCSType is the v1.1 VCS type: "github", "bitbucket" or "circleci".
	VCSType string `json:"vcs_type"`
}

// VCSInfo is where a project's code is hosted.
type VCSInfo struct {
	VCSURL        string `json:"vcs_url"`
	Provider      string `json:"provider"`
	DefaultBranch string `json:"default_branch"`
}

// Pipeline is one pipeline (spec schema "Pipeline").
type Pipeline struct {
	ID          string          `json:"id"`
	Errors      []PipelineError `json:"errors"`
	ProjectSlug string          `json:"project_slug"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Number      int64           `json:"number"`
	// TriggerParameters is set on pipelines of circleci/… projects, which carry
	// their git data there instead of in VCS.
	TriggerParameters *TriggerParameters `json:"trigger_parameters,omitempty"`
	State             string             `json:"state"`
	CreatedAt         time.Time          `json:"created_at"`
	Trigger           Trigger            `json:"trigger"`
	// VCS is nil when the pipeline has no vcs object at all.
	VCS *VCS `json:"vcs,omitempty"`
}

// Branch returns the branch the pipeline built (from VCS or from
// trigger_parameters.git), or "" for tag pipelines.
func (p Pipeline) Branch() string {
	if p.VCS != nil {
		return p.VCS.Branch
	}
	if p.TriggerParameters != nil && p.TriggerParameters.Git != nil {
		return p.TriggerParameters.Git.Branch
	}
	return ""
}

// PipelineError is one entry of Pipeline.Errors.
type PipelineError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Trigger says what started a pipeline.
type Trigger struct {
	Type       string    `json:"type"`
	ReceivedAt time.Time `json:"received_at"`
	Actor      Actor     `json:"actor"`
}

// Actor is the login that triggered a pipeline; it carries no user id.
type Actor struct {
	Login     string  `json:"login"`
	AvatarURL *string `json:"avatar_url"`
}

// VCS is a pipeline's vcs object. Branch and Tag are exclusive; "" fields are
// left out on the wire.
type VCS struct {
	ProviderName        string  `json:"provider_name"`
	OriginRepositoryURL string  `json:"origin_repository_url"`
	TargetRepositoryURL string  `json:"target_repository_url"`
	Revision            string  `json:"revision"`
	Branch              string  `json:"branch,omitempty"`
	Tag                 string  `json:"tag,omitempty"`
	ReviewID            string  `json:"review_id,omitempty"`
	ReviewURL           string  `json:"review_url,omitempty"`
	Commit              *Commit `json:"commit,omitempty"`
}

// Commit is the commit a pipeline built.
type Commit struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// TriggerParameters is the trigger_parameters object of pipelines started by
// pipeline definitions (GitHub App, GitLab).
type TriggerParameters struct {
	CircleCI *CircleCITriggerParameters `json:"circleci,omitempty"`
	Git      *GitTriggerParameters      `json:"git,omitempty"`
}

// CircleCITriggerParameters is trigger_parameters.circleci.
type CircleCITriggerParameters struct {
	EventType   string `json:"event_type"`
	TriggerType string `json:"trigger_type"`
	EventTime   string `json:"event_time"`
}

// GitTriggerParameters is trigger_parameters.git. Branch and Tag are exclusive.
type GitTriggerParameters struct {
	Branch        string `json:"branch,omitempty"`
	Tag           string `json:"tag,omitempty"`
	Ref           string `json:"ref"`
	CheckoutSHA   string `json:"checkout_sha"`
	CommitSHA     string `json:"commit_sha"`
	CommitTitle   string `json:"commit_title"`
	CommitMessage string `json:"commit_message"`
	RepoURL       string `json:"repo_url"`
	RepoName      string `json:"repo_name"`
	DefaultBranch string `json:"default_branch"`
}

// Workflow is one workflow of a pipeline (spec schema "Workflow"). Optional
// ids are "" when absent; AutoRerunNumber and MaxAutoReruns are 0 when absent.
type Workflow struct {
	ID              string     `json:"id"`
	PipelineID      string     `json:"pipeline_id"`
	PipelineNumber  int64      `json:"pipeline_number"`
	ProjectSlug     string     `json:"project_slug"`
	Name            string     `json:"name"`
	Status          string     `json:"status"`
	StartedBy       string     `json:"started_by"`
	CanceledBy      string     `json:"canceled_by,omitempty"`
	ErroredBy       string     `json:"errored_by,omitempty"`
	Tag             string     `json:"tag,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	StoppedAt       *time.Time `json:"stopped_at"`
	AutoRerunNumber int64      `json:"auto_rerun_number,omitempty"`
	MaxAutoReruns   int64      `json:"max_auto_reruns,omitempty"`
}

// Job is one job of a workflow; StartedAt and JobNumber are nil until it starts, and
// approval jobs never have a JobNumber.
type Job struct {
	ID string `json:"id"`
	// WorkflowID is the workflow the job belongs to (not sent by CircleCI).
	WorkflowID string `json:"workflow_id"`
	// PipelineID is the pipeline of that workflow (not sent by CircleCI).
	PipelineID        string              `json:"pipeline_id"`
	Name              string              `json:"name"`
	Type              string              `json:"type"`
	Status            string              `json:"status"`
	ProjectSlug       string              `json:"project_slug"`
	JobNumber         *int64              `json:"job_number,omitempty"`
	Dependencies      []string            `json:"dependencies"`
	Requires          map[string][]string `json:"requires,omitempty"`
	StartedAt         *time.Time          `json:"started_at"`
	StoppedAt         *time.Time          `json:"stopped_at"`
	ApprovedBy        string              `json:"approved_by,omitempty"`
	CanceledBy        string              `json:"canceled_by,omitempty"`
	ApprovalRequestID string              `json:"approval_request_id,omitempty"`
}

// User is a CircleCI user (spec schema "User").
type User struct {
	ID        string  `json:"id"`
	Login     string  `json:"login"`
	Name      string  `json:"name"`
	AvatarURL *string `json:"avatar_url"`
}

// Collaboration is an organization of /me/collaborations. ID is nil for a VCS
// org never used on CircleCI.
type Collaboration struct {
	ID        *string `json:"id"`
	VCSType   string  `json:"vcs_type"`
	Name      string  `json:"name"`
	AvatarURL string  `json:"avatar_url"`
	Slug      string  `json:"slug"`
}

// FollowedProject is one item of the v1.1 GET /projects list.
type FollowedProject struct {
	VCSURL        string `json:"vcs_url"`
	Username      string `json:"username"`
	Reponame      string `json:"reponame"`
	VCSType       string `json:"vcs_type"`
	Following     bool   `json:"following"`
	DefaultBranch string `json:"default_branch"`
	// ProjectSlug is the v2 slug of the project (not sent by CircleCI).
	ProjectSlug string `json:"project_slug"`
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (p Pipeline) clone() Pipeline {
	p.Errors = slices.Clone(p.Errors)
	if p.Errors == nil {
		p.Errors = []PipelineError{}
	}
	p.Trigger.Actor.AvatarURL = clonePtr(p.Trigger.Actor.AvatarURL)
	if p.TriggerParameters != nil {
		tp := *p.TriggerParameters
		tp.CircleCI = clonePtr(tp.CircleCI)
		tp.Git = clonePtr(tp.Git)
		p.TriggerParameters = &tp
	}
	if p.VCS != nil {
		v := *p.VCS
		v.Commit = clonePtr(v.Commit)
		p.VCS = &v
	}
	return p
}

func (w Workflow) clone() Workflow {
	w.StoppedAt = clonePtr(w.StoppedAt)
	return w
}

func (j Job) clone() Job {
	j.JobNumber = clonePtr(j.JobNumber)
	j.Dependencies = slices.Clone(j.Dependencies)
	if j.Dependencies == nil {
		j.Dependencies = []string{}
	}
	if j.Requires != nil {
		r := make(map[string][]string, len(j.Requires))
		for k, v := range j.Requires {
			r[k] = slices.Clone(v)
		}
		j.Requires = r
	}
	j.StartedAt = clonePtr(j.StartedAt)
	j.StoppedAt = clonePtr(j.StoppedAt)
	return j
}

func (u User) clone() User {
	u.AvatarURL = clonePtr(u.AvatarURL)
	return u
}

func (c Collaboration) clone() Collaboration {
	c.ID = clonePtr(c.ID)
	return c
}

// sortedKeys returns the keys of a set in order (never nil).
func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return []string{}
	}
	return slices.Sorted(maps.Keys(m))
}

package circlecitest

import "time"

// Wire types: the JSON CircleCI sends, in the spec's property order, apart from the
// dataset types and from package circleci.

// wireTimeLayout is how CircleCI writes timestamps: UTC, milliseconds, "Z".
const wireTimeLayout = "2006-01-02T15:04:05.000Z"

type wireTime time.Time

// MarshalJSON writes the time in CircleCI's layout.
func (t wireTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format(wireTimeLayout) + `"`), nil
}

func wtp(t *time.Time) *wireTime {
	if t == nil {
		return nil
	}
	v := wireTime(*t)
	return &v
}

type wireError struct {
	Message string `json:"message"`
}

type wireList[T any] struct {
	Items         []T     `json:"items"`
	NextPageToken *string `json:"next_page_token"`
}

type wireUser struct {
	AvatarURL *string `json:"avatar_url"`
	ID        string  `json:"id"`
	Login     string  `json:"login"`
	Name      string  `json:"name"`
}

// wireCollaboration uses "vcs_type", as CircleCI cloud does, not the spec's
// "vcs-type".
type wireCollaboration struct {
	ID        *string `json:"id"`
	VCSType   string  `json:"vcs_type"`
	Name      string  `json:"name"`
	AvatarURL string  `json:"avatar_url"`
	Slug      string  `json:"slug"`
}

type wireProject struct {
	Slug             string      `json:"slug"`
	Name             string      `json:"name"`
	ID               string      `json:"id"`
	OrganizationName string      `json:"organization_name"`
	OrganizationSlug string      `json:"organization_slug"`
	OrganizationID   string      `json:"organization_id"`
	VCSInfo          wireVCSInfo `json:"vcs_info"`
}

type wireVCSInfo struct {
	VCSURL        string `json:"vcs_url"`
	Provider      string `json:"provider"`
	DefaultBranch string `json:"default_branch"`
}

type wirePipeline struct {
	ID                string                 `json:"id"`
	Errors            []wirePipelineError    `json:"errors"`
	ProjectSlug       string                 `json:"project_slug"`
	UpdatedAt         wireTime               `json:"updated_at"`
	Number            int64                  `json:"number"`
	TriggerParameters *wireTriggerParameters `json:"trigger_parameters,omitempty"`
	State             string                 `json:"state"`
	CreatedAt         wireTime               `json:"created_at"`
	Trigger           wireTrigger            `json:"trigger"`
	VCS               *wireVCS               `json:"vcs,omitempty"`
}

type wirePipelineError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

type wireTrigger struct {
	Type       string    `json:"type"`
	ReceivedAt wireTime  `json:"received_at"`
	Actor      wireActor `json:"actor"`
}

type wireActor struct {
	Login     string  `json:"login"`
	AvatarURL *string `json:"avatar_url"`
}

type wireVCS struct {
	ProviderName        string      `json:"provider_name"`
	TargetRepositoryURL string      `json:"target_repository_url"`
	Branch              string      `json:"branch,omitempty"`
	ReviewID            string      `json:"review_id,omitempty"`
	ReviewURL           string      `json:"review_url,omitempty"`
	Revision            string      `json:"revision"`
	Tag                 string      `json:"tag,omitempty"`
	Commit              *wireCommit `json:"commit,omitempty"`
	OriginRepositoryURL string      `json:"origin_repository_url"`
}

type wireCommit struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

type wireTriggerParameters struct {
	CircleCI *wireCircleCIParameters `json:"circleci,omitempty"`
	Git      *wireGitParameters      `json:"git,omitempty"`
}

type wireCircleCIParameters struct {
	EventType   string `json:"event_type"`
	TriggerType string `json:"trigger_type"`
	EventTime   string `json:"event_time"`
}

type wireGitParameters struct {
	Tag           string `json:"tag,omitempty"`
	CheckoutSHA   string `json:"checkout_sha"`
	Ref           string `json:"ref"`
	Branch        string `json:"branch,omitempty"`
	RepoName      string `json:"repo_name"`
	RepoURL       string `json:"repo_url"`
	CommitSHA     string `json:"commit_sha"`
	CommitTitle   string `json:"commit_title"`
	CommitMessage string `json:"commit_message"`
	DefaultBranch string `json:"default_branch"`
}

type wireWorkflow struct {
	PipelineID      string    `json:"pipeline_id"`
	CanceledBy      string    `json:"canceled_by,omitempty"`
	ID              string    `json:"id"`
	AutoRerunNumber int64     `json:"auto_rerun_number,omitempty"`
	Name            string    `json:"name"`
	ProjectSlug     string    `json:"project_slug"`
	ErroredBy       string    `json:"errored_by,omitempty"`
	Tag             string    `json:"tag,omitempty"`
	Status          string    `json:"status"`
	StartedBy       string    `json:"started_by"`
	MaxAutoReruns   int64     `json:"max_auto_reruns,omitempty"`
	PipelineNumber  int64     `json:"pipeline_number"`
	CreatedAt       wireTime  `json:"created_at"`
	StoppedAt       *wireTime `json:"stopped_at"`
}

// wireJob sends started_at null for jobs that never started and leaves
// job_number out for them and for approval jobs, as CircleCI does.
type wireJob struct {
	CanceledBy        string              `json:"canceled_by,omitempty"`
	Dependencies      []string            `json:"dependencies"`
	JobNumber         *int64              `json:"job_number,omitempty"`
	ID                string              `json:"id"`
	StartedAt         *wireTime           `json:"started_at"`
	Name              string              `json:"name"`
	ApprovedBy        string              `json:"approved_by,omitempty"`
	ProjectSlug       string              `json:"project_slug"`
	Status            string              `json:"status"`
	Type              string              `json:"type"`
	Requires          map[string][]string `json:"requires,omitempty"`
	StoppedAt         *wireTime           `json:"stopped_at"`
	ApprovalRequestID string              `json:"approval_request_id,omitempty"`
}

// wireFollowedProject is an item of v1.1 GET /projects.
type wireFollowedProject struct {
	VCSURL        string         `json:"vcs_url"`
	Following     bool           `json:"following"`
	Username      string         `json:"username"`
	Reponame      string         `json:"reponame"`
	VCSType       string         `json:"vcs_type"`
	DefaultBranch string         `json:"default_branch"`
	Branches      map[string]any `json:"branches"`
}

func toWireUser(u *User) wireUser {
	return wireUser{AvatarURL: u.AvatarURL, ID: u.ID, Login: u.Login, Name: u.Name}
}

func toWireCollaboration(c Collaboration) wireCollaboration {
	//lint:ignore S1016 the wire types stay apart from the dataset's, field by field, even where they agree today.
	return wireCollaboration{ID: c.ID, VCSType: c.VCSType, Name: c.Name, AvatarURL: c.AvatarURL, Slug: c.Slug}
}

func toWireProject(p *Project) wireProject {
	return wireProject{Slug: p.Slug, Name: p.Name, ID: p.ID, OrganizationName: p.OrganizationName,
		OrganizationSlug: p.OrganizationSlug, OrganizationID: p.OrganizationID,
		VCSInfo: wireVCSInfo{VCSURL: p.VCSInfo.VCSURL, Provider: p.VCSInfo.Provider, DefaultBranch: p.VCSInfo.DefaultBranch}}
}

func toWirePipeline(p *Pipeline) wirePipeline {
	out := wirePipeline{ID: p.ID, Errors: []wirePipelineError{}, ProjectSlug: p.ProjectSlug,
		UpdatedAt: wireTime(p.UpdatedAt), Number: p.Number, State: p.State, CreatedAt: wireTime(p.CreatedAt),
		Trigger: wireTrigger{Type: p.Trigger.Type, ReceivedAt: wireTime(p.Trigger.ReceivedAt),
			Actor: wireActor{Login: p.Trigger.Actor.Login, AvatarURL: p.Trigger.Actor.AvatarURL}}}
	for _, e := range p.Errors {
		out.Errors = append(out.Errors, wirePipelineError(e))
	}
	if tp := p.TriggerParameters; tp != nil {
		out.TriggerParameters = &wireTriggerParameters{}
		if c := tp.CircleCI; c != nil {
			out.TriggerParameters.CircleCI = &wireCircleCIParameters{EventType: c.EventType, TriggerType: c.TriggerType, EventTime: c.EventTime}
		}
		if g := tp.Git; g != nil {
			out.TriggerParameters.Git = &wireGitParameters{Tag: g.Tag, CheckoutSHA: g.CheckoutSHA, Ref: g.Ref,
				Branch: g.Branch, RepoName: g.RepoName, RepoURL: g.RepoURL, CommitSHA: g.CommitSHA,
				CommitTitle: g.CommitTitle, CommitMessage: g.CommitMessage, DefaultBranch: g.DefaultBranch}
		}
	}
	if v := p.VCS; v != nil {
		out.VCS = &wireVCS{ProviderName: v.ProviderName, TargetRepositoryURL: v.TargetRepositoryURL, Branch: v.Branch,
			ReviewID: v.ReviewID, ReviewURL: v.ReviewURL, Revision: v.Revision, Tag: v.Tag,
			OriginRepositoryURL: v.OriginRepositoryURL}
		if v.Commit != nil {
			out.VCS.Commit = &wireCommit{Subject: v.Commit.Subject, Body: v.Commit.Body}
		}
	}
	return out
}

func toWireWorkflow(w *Workflow) wireWorkflow {
	return wireWorkflow{PipelineID: w.PipelineID, CanceledBy: w.CanceledBy, ID: w.ID,
		AutoRerunNumber: w.AutoRerunNumber, Name: w.Name, ProjectSlug: w.ProjectSlug, ErroredBy: w.ErroredBy,
		Tag: w.Tag, Status: w.Status, StartedBy: w.StartedBy, MaxAutoReruns: w.MaxAutoReruns,
		PipelineNumber: w.PipelineNumber, CreatedAt: wireTime(w.CreatedAt), StoppedAt: wtp(w.StoppedAt)}
}

func toWireJob(j *Job) wireJob {
	return wireJob{CanceledBy: j.CanceledBy, Dependencies: j.Dependencies, JobNumber: j.JobNumber, ID: j.ID,
		StartedAt: wtp(j.StartedAt), Name: j.Name, ApprovedBy: j.ApprovedBy, ProjectSlug: j.ProjectSlug,
		Status: j.Status, Type: j.Type, Requires: j.Requires, StoppedAt: wtp(j.StoppedAt),
		ApprovalRequestID: j.ApprovalRequestID}
}

func toWireFollowedProject(f FollowedProject) wireFollowedProject {
	return wireFollowedProject{VCSURL: f.VCSURL, Following: f.Following, Username: f.Username,
		Reponame: f.Reponame, VCSType: f.VCSType, DefaultBranch: f.DefaultBranch, Branches: map[string]any{}}
}

package activities

import "time"

// Connection names a CircleCI connection without its secret: the worker reads
// the token from its environment variable TokenEnv.
type Connection struct {
	ConnectionID string `json:"connection_id"` // the store's and the workflow IDs' key
	OrgSlug      string `json:"org_slug"`      // "gh/acme", "circleci/<uuid>"
	BaseURL      string `json:"base_url"`      // "" for https://circleci.com
	TokenEnv     string `json:"token_env"`
}

// VerifyInput is the input of VerifyConnection.
type VerifyInput struct {
	Connection Connection `json:"connection"`
	// Projects are the configured projects, tried first by the project check.
	Projects []string `json:"projects,omitempty"`
}

// VerifyStep is one check of CircleCI's diagnostic sequence.
type VerifyStep struct {
	Name       string `json:"name"` // org_pipelines, project_pipelines, me, collaborations, followed_projects
	OK         bool   `json:"ok"`
	HTTPStatus int    `json:"http_status,omitempty"` // 0 when no request was made
	Detail     string `json:"detail,omitempty"`      // what was found or went wrong, never a token
}

// VerifyReport is the result of VerifyConnection.
type VerifyReport struct {
	Steps            []VerifyStep `json:"steps"`
	UserLogin        string       `json:"user_login,omitempty"`
	Organizations    []string     `json:"organizations,omitempty"`
	FollowedProjects int          `json:"followed_projects"`
	Requests         int64        `json:"requests"`
	// Skipped: verified at VerifiedAt, recently enough not to be checked again.
	Skipped    bool      `json:"skipped,omitempty"`
	VerifiedAt time.Time `json:"verified_at,omitzero"`
}

// DiscoverInput is the input of DiscoverProjects.
type DiscoverInput struct {
	Connection Connection `json:"connection"`
	// Projects, when given, are the result: nothing is discovered.
	Projects []string `json:"projects,omitempty"`
	// FreshFor: projects discovered this recently are not discovered again.
	FreshFor Duration `json:"fresh_for,omitempty"`
	// OrgListLater: a first discovery that finds followed projects returns them
	// and leaves the org pipeline list to DiscoverCycleRest, so that the
	// projects start syncing while it is read.
	OrgListLater bool `json:"org_list_later,omitempty"`
}

// DiscoverResult is the result of DiscoverProjects.
type DiscoverResult struct {
	Projects []string `json:"projects"` // sorted, distinct
	Requests int64    `json:"requests"`
	// OrgPipelinePages counts the org pipeline pages read, resumed attempts' included.
	OrgPipelinePages int `json:"org_pipeline_pages,omitempty"`
	// OrgPipelinesTruncated: DiscoveryMaxPages left older pipelines unread.
	OrgPipelinesTruncated bool `json:"org_pipelines_truncated,omitempty"`
	// FirstDiscovery: no project of the org was on record; the whole list was read.
	FirstDiscovery bool `json:"first_discovery,omitempty"`
	// Recent: discovered within FreshFor; the recorded projects were taken.
	Recent bool `json:"recent,omitempty"`
	// OrgListLeft: the org pipeline list is left to DiscoverCycleRest (OrgListLater).
	OrgListLeft bool `json:"org_list_left,omitempty"`
}

// DiscoverProgress is DiscoverProjects' heartbeat detail, from which a retry
// resumes the org pipeline list.
type DiscoverProgress struct {
	NextPageToken string    `json:"next_page_token,omitempty"` // "" once Pages > 0: read to the end
	Pages         int       `json:"pages"`
	Slugs         []string  `json:"slugs,omitempty"` // the projects found, sorted
	Newest        time.Time `json:"newest,omitzero"`
	// Reached: a page went back past the last discovery's watermark.
	Reached bool `json:"reached,omitempty"`
}

// StartProjectInput is the input of StartProject.
type StartProjectInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// Since bounds a first sync (zero: the whole history).
	Since time.Time `json:"since,omitzero"`
	// Overlap is taken off the watermark on an incremental sync.
	Overlap Duration `json:"overlap"`
	// Repair: an incremental sync runs a repair pass when the last is RepairEvery old.
	Repair      bool     `json:"repair,omitempty"`
	RepairEvery Duration `json:"repair_every,omitempty"`
}

// RepairPlan says whether a repair pass is due, and its RepairInput's fields.
type RepairPlan struct {
	Due       bool      `json:"due,omitempty"`
	From      time.Time `json:"from,omitzero"`
	ReadNames bool      `json:"read_names,omitempty"`
}

// ProjectPlan is the result of StartProject: where the project's paging stops.
type ProjectPlan struct {
	Incremental bool      `json:"incremental"`
	Watermark   time.Time `json:"watermark,omitzero"`
	// StopBefore: paging stops at the first pipeline created before it (zero: never).
	StopBefore time.Time `json:"stop_before,omitzero"`
	// StartedAt is the worker's clock; the rerun window is measured back from it.
	StartedAt time.Time  `json:"started_at,omitzero"`
	Requests  int64      `json:"requests"`
	Written   int64      `json:"written"` // the project row's write
	Unchanged int64      `json:"unchanged"`
	Repair    RepairPlan `json:"repair"`
}

// PageInput is the input of SyncPipelinePage.
type PageInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	PageToken   string     `json:"page_token,omitempty"` // "" for the first page
	PageNumber  int        `json:"page_number"`          // from 1, for summaries and logs
	// StopBefore: pipelines created before it end the paging.
	StopBefore time.Time `json:"stop_before,omitzero"`
	MaxPages   int       `json:"max_pages,omitempty"` // 0 means 1
	// Below is the lowest pipeline number read before (0: none): a page with
	// none below it means the paging loops.
	Below int64 `json:"below,omitempty"`
	// Incremental: only the jobs of workflows that can have changed are listed.
	Incremental bool `json:"incremental,omitempty"`
}

// PageResult is the result of SyncPipelinePage: a cursor and counts.
type PageResult struct {
	NextPageToken string     `json:"next_page_token,omitempty"` // "" when Done
	Done          bool       `json:"done"`
	Newest        time.Time  `json:"newest,omitzero"` // the newest pipeline's created_at
	Counts        SyncCounts `json:"counts"`
	// LastError is the error an earlier attempt failed with ("type: message").
	LastError string `json:"last_error,omitempty"`
	Attempt   int32  `json:"attempt"`
	Lowest    int64  `json:"lowest,omitempty"` // the next activity's Below
}

// PageProgress is SyncPipelinePage's heartbeat detail: a retry resumes on the
// page being processed, after the last pipeline written.
type PageProgress struct {
	PageToken  string `json:"page_token"`
	PageNumber int    `json:"page_number,omitempty"`
	Next       int    `json:"next"` // the page index of the first pipeline not written
	// LastPipelineID is the last pipeline written: a shifted page resumes after it.
	LastPipelineID string     `json:"last_pipeline_id,omitempty"`
	Newest         time.Time  `json:"newest,omitzero"`
	Lowest         int64      `json:"lowest,omitempty"`
	Counts         SyncCounts `json:"counts"`
	LastError      string     `json:"last_error,omitempty"`
}

// RefreshInput is the input of RefreshProject.
type RefreshInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// SyncedSince: pipelines created since were just paged (zero: all were).
	SyncedSince time.Time `json:"synced_since,omitzero"`
	// RerunWindowStart: stored pipelines created since are polled for reruns.
	RerunWindowStart time.Time `json:"rerun_window_start,omitzero"`
}

// RefreshProgress is RefreshProject's heartbeat detail.
type RefreshProgress struct {
	LastPipelineID string `json:"last_pipeline_id"`
	// LastWorkflowID is set once every pipeline is done.
	LastWorkflowID string     `json:"last_workflow_id,omitempty"`
	Counts         SyncCounts `json:"counts"`
}

// CompleteProjectInput is the input of CompleteProject.
type CompleteProjectInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// Watermark is the newest pipeline seen; the stored one never moves back.
	Watermark time.Time  `json:"watermark,omitzero"`
	Counts    SyncCounts `json:"counts"`
	// RepairedAt, when later than stored, is recorded as the last repair's start
	// (a first sync's start: it saw every run until then).
	RepairedAt time.Time `json:"repaired_at,omitzero"`
}

// ResolveUsersInput is the input of ResolveUsers.
type ResolveUsersInput struct {
	Connection Connection `json:"connection"`
	Projects   []string   `json:"projects"`  // whose workflows and jobs reference the users
	FreshFor   Duration   `json:"fresh_for"` // users fetched this recently are not fetched again
}

// ResolveUsersResult is the result of ResolveUsers.
type ResolveUsersResult struct {
	Referenced int64      `json:"referenced"` // distinct user ids referenced
	Fresh      int64      `json:"fresh"`      // of those, stored recently and not fetched
	Counts     SyncCounts `json:"counts"`
}

// UsersProgress is ResolveUsers' heartbeat detail.
type UsersProgress struct {
	Next int `json:"next"` // index of the first id not written
	// LastUserID is the last id written; a retry resumes after it, as the list
	// may have shrunk (the users written are fresh now).
	LastUserID string     `json:"last_user_id,omitempty"`
	Counts     SyncCounts `json:"counts"`
}

// CompleteConnectionInput is the input of CompleteConnection.
type CompleteConnectionInput struct {
	Connection Connection `json:"connection"`
	Projects   []string   `json:"projects"`          // this run's: added to the record
	Missing    []string   `json:"missing,omitempty"` // found missing: dropped from the record
	Counts     SyncCounts `json:"counts"`
	Failed     int64      `json:"failed"` // projects whose sync failed
}

// JobExtras says which extras of each terminal build job a sync reads (the
// ConnectionSync input's include and tests_jobs): each costs a request or more
// per job, so none by default.
type JobExtras struct {
	Details bool `json:"details,omitempty"`
	Tests   bool `json:"tests,omitempty"`
	// TestsJobs, when set, is a regular expression (RE2, unanchored) a job's name
	// must match for its tests to be read.
	TestsJobs string `json:"tests_jobs,omitempty"`
}

// Any tells whether any extra is asked for.
func (x JobExtras) Any() bool { return x.Details || x.Tests }

// JobExtrasInput is the input of SyncJobExtras.
type JobExtrasInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	Extras      JobExtras  `json:"extras"`
	// After: the jobs numbered up to After were done by earlier calls.
	After int64 `json:"after,omitempty"`
	// MaxJobs bounds the jobs one call reads (default DefaultExtrasJobs).
	MaxJobs int `json:"max_jobs,omitempty"`
}

// JobExtrasResult is the result of SyncJobExtras (and its heartbeat).
type JobExtrasResult struct {
	Counts SyncCounts `json:"counts"`
	// After is the highest job number done; Done: no job is left above it.
	After int64 `json:"after,omitempty"`
	Done  bool  `json:"done,omitempty"`
}

package workflows

import (
	"time"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Project outcome statuses in ConnectionSyncResult.
const (
	// ProjectCompleted: the project's sync completed.
	ProjectCompleted = "completed"
	// ProjectFailed: the project's sync failed; the others went on.
	ProjectFailed = "failed"
)

// Phases of a sync, in ConnectionSyncState.Phase and ProjectSyncState.Phase.
const (
	PhaseVerify   = "verify"
	PhaseDiscover = "discover"
	PhaseProjects = "projects"
	PhaseUsers    = "users"
	PhasePlan     = "plan"
	PhasePages    = "pages"
	PhaseRefresh  = "refresh"
	PhaseDone     = "done"
	// PhaseWaiting: a continuous ConnectionSync between cycles.
	PhaseWaiting = "waiting"
	// PhaseFailed: the sync (or its cycle) failed.
	PhaseFailed = "failed"
)

// ConnectionSyncState is what ConnectionSync carries across continue-as-new:
// cursors and counters, the cycle's project slugs and a bounded part of its
// outcomes (see MaxListedOutcomes). A start must leave it out.
type ConnectionSyncState struct {
	// Phase is one of the Phase* constants.
	Phase string `json:"phase"`
	// Cycle numbers the sync cycles, from 1; each cycle starts a new run.
	Cycle int `json:"cycle,omitempty"`
	// Begun is true once the cycle started its first activity: a resync request
	// from then on goes to the next cycle.
	Begun bool `json:"begun,omitempty"`
	// Included counts the resync requests the cycle includes; ResyncPending
	// those waiting for the next cycle (they coalesce into one).
	Included      int `json:"included,omitempty"`
	ResyncPending int `json:"resync_pending,omitempty"`
	// LastResyncReason is the reason of the last resync request.
	LastResyncReason string `json:"last_resync_reason,omitempty"`
	// DroppedSignals counts the invalid resync signals dropped.
	DroppedSignals int `json:"dropped_signals,omitempty"`
	// SearchAttributes are the registered custom search attributes the run sets.
	SearchAttributes []string `json:"search_attributes"`
	// Users are the user resolution's figures, once done.
	Users *activities.ResolveUsersResult `json:"users,omitempty"`
	// LastError is the last error the sync met.
	LastError *ErrorNote `json:"last_error,omitempty"`
	// Previous sums up the cycle before this one.
	Previous *CycleSummary `json:"previous,omitempty"`
	// NextCycleAt, set while a continuous sync waits, is when its next cycle starts.
	NextCycleAt time.Time `json:"next_cycle_at,omitempty"`
	// Runs counts the runs of the cycle before this one.
	Runs     int  `json:"runs"`
	Verified bool `json:"verified"`
	// Discovered is true once the cycle's projects are known: Total of them, in
	// the store; Projects holds those from Offset on (a window), Next is the
	// index in Projects of the first not yet started.
	Discovered bool     `json:"discovered"`
	Total      int      `json:"total,omitempty"`
	Offset     int      `json:"offset,omitempty"`
	Projects   []string `json:"projects,omitempty"`
	Next       int      `json:"next"`
	// Retry are projects to start again: their child workflow ID was taken.
	Retry []string `json:"retry,omitempty"`
	// InFlight are the projects being synced (empty across continue-as-new).
	InFlight []string `json:"in_flight,omitempty"`
	// Completed, Failed and NotFound count the finished projects; Totals adds
	// up their figures.
	Completed int                   `json:"completed"`
	Failed    int                   `json:"failed"`
	NotFound  int                   `json:"not_found,omitempty"`
	Totals    activities.SyncCounts `json:"totals"`
	// Missing are projects that answered "not found" (at most MaxMissing).
	Missing []string `json:"missing,omitempty"`
	// Outcomes are the outcomes the result lists (see MaxListedOutcomes).
	Outcomes []ProjectOutcome `json:"outcomes,omitempty"`
	// Requests counts the API requests of verification and discovery.
	Requests int64 `json:"requests"`
}

// ProjectOutcome is one project's result within a connection sync.
type ProjectOutcome struct {
	ProjectSlug string `json:"project_slug"`
	// WorkflowID is the ProjectSync child's workflow ID.
	WorkflowID string `json:"workflow_id"`
	// Status is ProjectCompleted or ProjectFailed.
	Status string `json:"status"`
	// ErrorType and Error describe a failure (the ApplicationError's type and
	// message).
	ErrorType string `json:"error_type,omitempty"`
	Error     string `json:"error,omitempty"`
	// Incremental is true when the project had a completed sync before.
	Incremental bool                  `json:"incremental"`
	Counts      activities.SyncCounts `json:"counts"`
}

// ErrorNote is an error a sync met and went on from (or failed with), for the
// progress query.
type ErrorNote struct {
	// Where says what was being done: "page 3 of gh/acme/api", "project
	// gh/acme/api".
	Where string `json:"where"`
	// Error is "type: message" (an ApplicationError's type and message).
	Error string `json:"error"`
	// At is the workflow time it was seen.
	At time.Time `json:"at"`
}

// CycleSummary sums up a finished sync cycle.
type CycleSummary struct {
	Cycle          int                   `json:"cycle"`
	FailedProjects int                   `json:"failed_projects"`
	Totals         activities.SyncCounts `json:"totals"`
	CompletedAt    time.Time             `json:"completed_at"`
	// Error is why the cycle failed ("type: message"), "" when it completed.
	Error string `json:"error,omitempty"`
}

// ConnectionSyncResult is the result of ConnectionSync.
type ConnectionSyncResult struct {
	ConnectionID string `json:"connection_id"`
	// Cycle is the sync cycle this result is of (see ConnectionSyncState.Cycle).
	Cycle int `json:"cycle,omitempty"`
	// Projects are the outcomes, sorted by project slug: all of them up to
	// MaxListedOutcomes projects, the failures only beyond.
	Projects []ProjectOutcome `json:"projects"`
	// OmittedProjects counts the outcomes not listed in Projects.
	OmittedProjects int `json:"omitted_projects,omitempty"`
	// FailedProjects counts the outcomes with status ProjectFailed.
	FailedProjects int `json:"failed_projects"`
	// Users is the user resolution's figures.
	Users activities.ResolveUsersResult `json:"users"`
	// Totals adds up the projects' and the users' counts and the requests of
	// verification and discovery.
	Totals activities.SyncCounts `json:"totals"`
	// Runs is the number of workflow runs (1 + continue-as-new count).
	Runs int `json:"runs"`
}

// ProjectSyncInput is the input of ProjectSync. ConnectionSync builds it; start one
// by hand only to re-sync a single project.
type ProjectSyncInput struct {
	Connection  activities.Connection `json:"connection"`
	ProjectSlug string                `json:"project_slug"`
	// Since bounds a first sync (zero: all history).
	Since time.Time `json:"since,omitempty"`
	// Overlap and RerunWindow are the incremental knobs (see ConnectionSyncInput).
	Overlap     Duration `json:"overlap"`
	RerunWindow Duration `json:"rerun_window"`
	// SearchAttributes are the registered custom search attributes to set; nil
	// means ask the worker (ConnectionSync passes what it knows).
	SearchAttributes []string `json:"search_attributes"`
	// State is set by ProjectSync itself when it continues as new.
	State *ProjectSyncState `json:"state,omitempty"`
}

// ProjectSyncState is what ProjectSync carries across continue-as-new: the plan,
// the pipeline cursor and the figures so far.
type ProjectSyncState struct {
	// Phase is PhasePlan, PhasePages, PhaseRefresh or PhaseDone.
	Phase string `json:"phase"`
	// Runs counts the runs before this one.
	Runs int `json:"runs"`
	// Planned is true once StartProject ran; Plan is its result.
	Planned bool                   `json:"planned"`
	Plan    activities.ProjectPlan `json:"plan"`
	// PageToken is the next pipeline page to fetch; Pages the pages done.
	PageToken string `json:"page_token,omitempty"`
	Pages     int    `json:"pages"`
	// Paged is true once paging is done.
	Paged bool `json:"paged"`
	// Lowest is the lowest pipeline number paged so far (the next page
	// activity's Below: a page with none below it means paging loops).
	Lowest int64 `json:"lowest,omitempty"`
	// Restarts counts the times paging restarted from the first page because
	// CircleCI no longer accepted the page token.
	Restarts int `json:"restarts,omitempty"`
	// Newest is the created_at of the newest pipeline seen: the next watermark.
	Newest time.Time             `json:"newest,omitempty"`
	Counts activities.SyncCounts `json:"counts"`
	// LastError is the last error the sync met (see ErrorNote).
	LastError *ErrorNote `json:"last_error,omitempty"`
}

// ProjectSyncResult is the result of ProjectSync.
type ProjectSyncResult struct {
	ProjectSlug string `json:"project_slug"`
	// Incremental is true when the project had a completed sync before.
	Incremental bool `json:"incremental"`
	// Watermark is the newest pipeline's created_at seen by this sync (zero if
	// none).
	Watermark time.Time             `json:"watermark,omitempty"`
	Counts    activities.SyncCounts `json:"counts"`
	// Runs is the number of workflow runs (1 + continue-as-new count).
	Runs int `json:"runs"`
	// LastError is the last error the sync met and went on from.
	LastError *ErrorNote `json:"last_error,omitempty"`
}

// ProgressQuery is the name of the query both workflows answer with their
// progress (ConnectionProgress or ProjectProgress):
// `temporal workflow query --workflow-id circleci-sync/acme --name progress`.
const ProgressQuery = "progress"

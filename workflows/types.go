package workflows

import (
	"time"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Project outcome statuses: a failed project never stops the others.
const (
	ProjectCompleted = "completed"
	ProjectFailed    = "failed"
)

// Phases of a sync (ConnectionSyncState.Phase, ProjectSyncState.Phase).
const (
	PhaseVerify   = "verify"
	PhaseDiscover = "discover"
	PhaseProjects = "projects"
	PhaseUsers    = "users"
	PhasePlan     = "plan"
	PhasePages    = "pages"
	PhaseRefresh  = "refresh"
	PhaseRepair   = "repair"
	PhaseExtras   = "extras" // job details and tests
	PhaseDone     = "done"
	PhaseWaiting  = "waiting" // a continuous sync between cycles
	PhaseTargets  = "targets" // a targets-only run (started by a webhook)
	PhaseFailed   = "failed"
)

// ConnectionSyncState is what ConnectionSync carries across continue-as-new:
// cursors, counters and bounded lists (a window of the cycle's projects, at
// most MaxListedOutcomes outcomes). A start must leave it out.
type ConnectionSyncState struct {
	Phase string `json:"phase"`
	// Cycle numbers the sync cycles, from 1; each cycle starts a new run.
	Cycle int `json:"cycle,omitempty"`
	// Begun: the cycle started its first activity (a resync request goes to the next).
	Begun bool `json:"begun,omitempty"`
	// Included counts the resync requests the cycle serves; ResyncPending those
	// for the next cycle.
	Included         int    `json:"included,omitempty"`
	ResyncPending    int    `json:"resync_pending,omitempty"`
	LastResyncReason string `json:"last_resync_reason,omitempty"`
	DroppedSignals   int    `json:"dropped_signals,omitempty"`
	// SearchAttributes are the registered custom search attributes the run sets.
	SearchAttributes []string                       `json:"search_attributes"`
	Users            *activities.ResolveUsersResult `json:"users,omitempty"`
	LastError        *ErrorNote                     `json:"last_error,omitempty"`
	Previous         *CycleSummary                  `json:"previous,omitempty"`
	// NextCycleAt, set while a continuous sync waits, is when its next cycle starts.
	NextCycleAt time.Time `json:"next_cycle_at,omitzero"`
	// Runs counts the runs of the cycle before this one.
	Runs     int  `json:"runs"`
	Verified bool `json:"verified"`
	// Discovered: the cycle's Total projects are in the store; Projects holds
	// those from Offset on, Next indexes the first not started.
	Discovered bool `json:"discovered"`
	// DiscoverRest: the org pipeline list is still to read beside the projects
	// (DiscoverCycleRest), and may add to Total.
	DiscoverRest bool `json:"discover_rest,omitempty"`
	// FirstSync: the discovery found no project of the org on record; the
	// children start at first-sync priority (ProjectSync knows only after its plan).
	FirstSync bool     `json:"first_sync,omitempty"`
	Total     int      `json:"total,omitempty"`
	Offset    int      `json:"offset,omitempty"`
	Projects  []string `json:"projects,omitempty"`
	Next      int      `json:"next"`
	// Retry are projects to start again (their child workflow ID was taken).
	Retry []string `json:"retry,omitempty"`
	// InFlight are the projects being synced (empty across continue-as-new).
	InFlight []string `json:"in_flight,omitempty"`
	// Carried are the children the previous run left running when it continued
	// as new; this run waits for them (WaitForProjects).
	Carried   []CarriedProject      `json:"carried,omitempty"`
	Completed int                   `json:"completed"`
	Failed    int                   `json:"failed"`
	NotFound  int                   `json:"not_found,omitempty"`
	Totals    activities.SyncCounts `json:"totals"`
	// Missing are projects that answered "not found" (at most MaxMissing).
	Missing  []string         `json:"missing,omitempty"`
	Outcomes []ProjectOutcome `json:"outcomes,omitempty"`
	// Requests counts the API requests of verification and discovery.
	Requests int64 `json:"requests"`
	// Targets are the pipelines queued for a targeted sync (MaxPendingTargets),
	// RecentEvents the last MaxRecentEvents event ids taken, TargetCounts the
	// figures of the targeted syncs of this and the previous runs.
	Targets      []QueuedTarget        `json:"targets,omitempty"`
	RecentEvents []string              `json:"recent_events,omitempty"`
	TargetCounts activities.SyncCounts `json:"target_counts"`
}

// CarriedProject is a ProjectSync child running across its connection's
// continue-as-new (it outlives the run that started it): which run to wait
// for, and its figures as last reported, so that the next run shows them.
type CarriedProject struct {
	Slug       string `json:"slug"`
	WorkflowID string `json:"workflow_id"`
	// RunID is the child's first run ("": its current one).
	RunID string `json:"run_id,omitempty"`
	// Phase, Step and Base are its last announcement (the step's figures come
	// with its next report).
	Phase string                `json:"phase,omitempty"`
	Step  string                `json:"step,omitempty"`
	Base  activities.SyncCounts `json:"base"`
}

// ProjectOutcome is one project's result within a connection sync.
type ProjectOutcome struct {
	ProjectSlug string `json:"project_slug"`
	// WorkflowID is the project's ProjectSync, "" when it ran inline (Inline).
	WorkflowID string `json:"workflow_id"`
	// Inline: the connection synced the project in its own activity, no child.
	Inline bool   `json:"inline,omitempty"`
	Status string `json:"status"`
	// ErrorType and Error are the failure's ApplicationError type and message.
	ErrorType   string                `json:"error_type,omitempty"`
	Error       string                `json:"error,omitempty"`
	Incremental bool                  `json:"incremental"`
	Counts      activities.SyncCounts `json:"counts"`
}

// ErrorNote is the last error a sync met, for the progress query.
type ErrorNote struct {
	// Where says what was being done ("pages from 3", "project gh/acme/api").
	Where string `json:"where"`
	// Error is "type: message".
	Error string    `json:"error"`
	At    time.Time `json:"at,omitzero"`
}

// CycleSummary sums up a finished sync cycle.
type CycleSummary struct {
	Cycle          int                   `json:"cycle"`
	FailedProjects int                   `json:"failed_projects"`
	Totals         activities.SyncCounts `json:"totals"`
	CompletedAt    time.Time             `json:"completed_at,omitzero"`
	// Error is why the cycle failed ("type: message"), "" when it completed.
	Error string `json:"error,omitempty"`
}

// ConnectionSyncResult is the result of ConnectionSync.
type ConnectionSyncResult struct {
	ConnectionID string `json:"connection_id"`
	Cycle        int    `json:"cycle,omitempty"`
	// Projects are the outcomes by slug: all up to MaxListedOutcomes projects,
	// beyond that the failures only; OmittedProjects counts the others.
	Projects        []ProjectOutcome              `json:"projects"`
	OmittedProjects int                           `json:"omitted_projects,omitempty"`
	FailedProjects  int                           `json:"failed_projects"`
	Users           activities.ResolveUsersResult `json:"users"`
	// Totals adds up the projects', the users' and the connection's figures.
	Totals activities.SyncCounts `json:"totals"`
	// Runs is the number of workflow runs of the cycle.
	Runs int `json:"runs"`
	// TargetCounts are the figures of the run's targeted syncs.
	TargetCounts activities.SyncCounts `json:"target_counts"`
}

// ProjectSyncInput is the input of ProjectSync, built by ConnectionSync (start
// one by hand only to sync a single project again).
type ProjectSyncInput struct {
	Connection  activities.Connection `json:"connection"`
	ProjectSlug string                `json:"project_slug"`
	// Since bounds a first sync (zero: all history).
	Since       time.Time `json:"since,omitzero"`
	Overlap     Duration  `json:"overlap"`
	RerunWindow Duration  `json:"rerun_window"`
	// RepairEvery: nil or "off" runs no repair pass.
	RepairEvery *RepairEvery `json:"repair_every,omitempty"`
	// SearchAttributes are the registered ones to set; nil: ask the worker.
	SearchAttributes []string `json:"search_attributes"`
	// Extras are the job extras to read (the connection's include).
	Extras activities.JobExtras `json:"extras,omitempty"`
	// State is set by ProjectSync itself when it continues as new.
	State *ProjectSyncState `json:"state,omitempty"`
	// Resume is the SyncProject result the connection got running the project
	// inline: the child goes on from it instead of starting over.
	Resume *activities.ProjectCycleResult `json:"resume,omitempty"`
}

// ProjectSyncState is what ProjectSync carries across continue-as-new: the plan,
// the pipeline cursor and the figures so far.
type ProjectSyncState struct {
	Phase   string                 `json:"phase"`
	Runs    int                    `json:"runs"`
	Planned bool                   `json:"planned"`
	Plan    activities.ProjectPlan `json:"plan"`
	// PageToken is the next pipeline page; Pages counts those done.
	PageToken string `json:"page_token,omitempty"`
	Pages     int    `json:"pages"`
	Paged     bool   `json:"paged"`
	// Refreshed and Recorded: SyncProject polled the open items, and stored the
	// watermark (the steps the sync then skips).
	Refreshed bool `json:"refreshed,omitempty"`
	Recorded  bool `json:"recorded,omitempty"`
	// Lowest is the lowest pipeline number paged so far (a page with none
	// below it means paging loops).
	Lowest int64 `json:"lowest,omitempty"`
	// Restarts counts paging restarts after a stale page token.
	Restarts int `json:"restarts,omitempty"`
	// Newest is the newest pipeline's created_at: the next watermark.
	Newest time.Time `json:"newest,omitzero"`
	// ExtrasAfter is the last job number whose extras were read; ExtrasDone: all.
	// ExtrasStarted: refresh and repair are done, the extras begun.
	ExtrasStarted bool                  `json:"extras_started,omitempty"`
	ExtrasAfter   int64                 `json:"extras_after,omitempty"`
	ExtrasDone    bool                  `json:"extras_done,omitempty"`
	Counts        activities.SyncCounts `json:"counts"`
	LastError     *ErrorNote            `json:"last_error,omitempty"`
}

// ProjectSyncResult is the result of ProjectSync.
type ProjectSyncResult struct {
	ProjectSlug string                `json:"project_slug"`
	Incremental bool                  `json:"incremental"`
	Watermark   time.Time             `json:"watermark,omitzero"`
	Counts      activities.SyncCounts `json:"counts"`
	Runs        int                   `json:"runs"`
	LastError   *ErrorNote            `json:"last_error,omitempty"`
}

// ProgressQuery is the query both workflows answer with their progress:
// `temporal workflow query --workflow-id circleci-sync/acme --name progress`.
const ProgressQuery = "progress"

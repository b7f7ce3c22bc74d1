// Package store is circleci-sync's sink: the database that holds the CircleCI data a
// sync writes, and the sync's own state.
//
// One interface, Store, has two implementations: SQLite through modernc.org/sqlite (the
// embedded default, a file) and PostgreSQL through pgx. Open chooses one from a
// DATABASE_URL. The schema comes from embedded, versioned migrations applied by Open.
//
// Writes are idempotent (upsert by id) and version-guarded: a retried or overlapping
// write never turns a terminal status back into a running one, nor a final pipeline
// state (created, errored) back into an open one, nor replaces a later stopped_at (or
// updated_at) with an earlier one. Every timestamp is stored in UTC, at
// microsecond precision (PostgreSQL's, used by both stores), and returned in UTC.
package store

import (
	"context"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// DefaultURL is the database used when DATABASE_URL is empty: a SQLite file.
const DefaultURL = "sqlite://./data/circleci-sync.db"

// Batch is what one sync step writes: usually one page of pipelines with their
// workflows and jobs. WriteBatch writes a whole Batch in one transaction, or nothing.
//
// Every item needs its id (projects their slug, skipped and resolved entries their
// kind and id), jobs their WorkflowID, Raw must be empty or valid JSON, and times must
// fall in the years 1-9999; otherwise WriteBatch fails with ErrInvalidItem. An entity
// may appear several times: its snapshots are applied in Batch order, each through the
// version guard, as if written by successive batches.
type Batch struct {
	Projects  []circleci.Project
	Pipelines []circleci.Pipeline
	Workflows []circleci.Workflow
	// Jobs must have WorkflowID set (the client sets it when it lists a workflow's jobs).
	Jobs  []circleci.Job
	Users []circleci.User
	// JobDetails need ProjectSlug, Number and JobID (details of an opted-in sync).
	JobDetails []circleci.JobDetails
	// TestResults are test results of jobs; JobTests records jobs whose results were
	// all read (the tests ledger), written after them.
	TestResults []TestResult
	JobTests    []JobTests
	// Skipped records entities that could not be fetched (expired, broken, missing).
	Skipped []Skipped
	// Resolved removes entities from the skipped ledger because they were fetched
	// after all (a later attempt succeeded). It is applied after Skipped, so an entity
	// in both ends up resolved.
	Resolved []EntityRef
}

// WriteStats counts what WriteBatch changed. Written+Unchanged is the number of items
// of the Batch (Skipped and Resolved entries included).
//
// A pipeline, workflow, job or project identical to the stored row (all columns but
// synced_at) is not rewritten and counts as Unchanged, so synced_at is when the row
// last changed. Users and skipped entries are always rewritten (fetched_at and
// last_seen record the write) and count as Written. A Resolved entry counts as Written
// when it removed a ledger row, else as Unchanged.
type WriteStats struct {
	// Written counts rows inserted, updated or (Resolved) deleted, over all tables.
	Written int
	// Unchanged counts rows left alone: identical, or older than what is stored
	// (a version-guarded write that lost).
	Unchanged int
}

// Entity kinds, used in the skipped ledger and EntityRef.
const (
	KindProject  = "project"
	KindPipeline = "pipeline"
	KindWorkflow = "workflow"
	KindJob      = "job"
	KindUser     = "user"
	// KindJobDetails and KindTestResult are fetched only when a sync's input
	// includes them; a job's ledger entries use "slug/number" as the id.
	KindJobDetails = "job_details"
	KindTestResult = "test_result"
)

// EntityKinds are the data kinds, in write order (tables in a fixed order: concurrent
// writers never deadlock). Each is declared in its own file, with its table and rows.
var EntityKinds = []EntityKind{projectKind, pipelineKind, workflowKind, jobKind, userKind,
	jobDetailsKind, testResultKind}

// EntityRef names one CircleCI entity.
type EntityRef struct {
	Kind string
	ID   string
}

// Skipped is an entity a sync could not fetch and went on without: for example the
// workflows of an expired pipeline (404), a pipeline whose workflow list answers 500,
// or a user that no longer exists.
type Skipped struct {
	EntityRef
	// ProjectSlug is the project the entity belongs to, empty for users.
	ProjectSlug string
	// Reason is a short, stable word: "expired", "not_found", "server_error", ...
	Reason string
	// HTTPStatus is the status CircleCI answered, 0 if none.
	HTTPStatus int
	// Message is CircleCI's message, never a token.
	Message string
	// FirstSeen and LastSeen are set by the store: FirstSeen is kept on later writes.
	FirstSeen time.Time
	LastSeen  time.Time
}

// ProjectState is the sync state of one project within one connection.
type ProjectState struct {
	ConnectionID string
	ProjectSlug  string
	// Watermark is the created_at of the newest pipeline seen by the last completed
	// sync; zero before the first one.
	Watermark time.Time
	// LastRunAt is when the last completed sync of the project ended.
	LastRunAt time.Time
	// LastRun holds the last completed run's figures (counts of pipelines, workflows,
	// jobs, requests, skipped...), by name.
	LastRun map[string]int64
	// RepairedAt is when the last completed repair pass started; zero before one.
	RepairedAt time.Time
	// InsightsNames are the workflow names Insights listed at InsightsNamesAt.
	InsightsNames   []string
	InsightsNamesAt time.Time
}

// ConnectionState is the sync state of one connection.
type ConnectionState struct {
	ConnectionID string
	OrgSlug      string
	BaseURL      string
	// Projects are the project slugs discovered (or configured) for the connection.
	Projects  []string
	LastRunAt time.Time
	LastRun   map[string]int64
	// VerifiedAt is when the connection last passed its full verification;
	// zero when it never did.
	VerifiedAt time.Time
	// DiscoveredAt is when the connection's projects were last discovered (the
	// org pipeline list read).
	DiscoveredAt time.Time
	// FollowedAt is when the connection's followed projects were last read.
	FollowedAt time.Time
	// DiscoveryWatermark is the created_at of the newest org pipeline the last
	// discovery read: the next one reads the org pipeline list back to it.
	DiscoveryWatermark time.Time
}

// OpenItems are the entities of a project that a sync must poll again because they can
// still change. They are derived from the stored data, not kept separately.
type OpenItems struct {
	// PipelineIDs are pipelines in a non-final state (setup, pending, setup-pending,
	// or a state CircleCI added later; see circleci.IsFinalPipelineState) or whose
	// stored workflows are not all terminal.
	PipelineIDs []string
	// WorkflowIDs are workflows whose status is not terminal. A terminal workflow's jobs
	// are final too: the jobs that never ran in a failed workflow may stay "blocked"
	// for good, so counting them would re-poll that workflow forever. A
	// sync lists a workflow's jobs once more when it sees the workflow turn terminal.
	WorkflowIDs []string
}

// Counts is the number of rows of each data table.
type Counts struct {
	// Entities are the rows of each kind's table, by kind name (EntityKinds);
	// empty tables are left out.
	Entities map[string]int64
	// Skipped is the number of entries in the skipped ledger.
	Skipped int64
}

// Store is the database that a sync writes to. Implementations are safe for concurrent
// use. Every method takes the caller's context for cancellation.
type Store interface {
	// WriteBatch writes b in one transaction, idempotently and version-guarded.
	WriteBatch(ctx context.Context, b Batch) (WriteStats, error)

	// ProjectState returns the stored state of a project, or a zero state (with the
	// ids filled in) when there is none.
	ProjectState(ctx context.Context, connectionID, projectSlug string) (ProjectState, error)
	// SaveProjectState stores s, replacing what was there. s needs both its ids
	// (else ErrInvalidItem).
	SaveProjectState(ctx context.Context, s ProjectState) error
	// ConnectionState returns the stored state of a connection, or a zero state (with
	// the id filled in) when there is none.
	ConnectionState(ctx context.Context, connectionID string) (ConnectionState, error)
	// SaveConnectionState stores s, replacing what was there. s needs its id (else
	// ErrInvalidItem).
	SaveConnectionState(ctx context.Context, s ConnectionState) error

	// OpenItems returns the project's entities that can still change, each list
	// sorted.
	OpenItems(ctx context.Context, projectSlug string) (OpenItems, error)
	// PipelinesCreatedSince returns the ids of the project's stored pipelines created at
	// or after t, newest first (then highest number first).
	PipelinesCreatedSince(ctx context.Context, projectSlug string, t time.Time) ([]string, error)
	// UsersFetchedSince returns which of ids are stored users fetched at or after t.
	UsersFetchedSince(ctx context.Context, ids []string, t time.Time) (map[string]bool, error)
	// UserRefs returns the distinct user ids referenced by stored workflows (started,
	// canceled, errored by) and jobs (approved, canceled by) of the given projects,
	// sorted bytewise, without empty ids.
	UserRefs(ctx context.Context, projectSlugs []string) ([]string, error)
	// WorkflowNames returns the distinct names of the project's stored workflows
	// created at or after t, sorted bytewise.
	WorkflowNames(ctx context.Context, projectSlug string, t time.Time) ([]string, error)
	// PipelineStates returns the stored state of each of ids that is a stored
	// pipeline; ids not stored are absent from the map.
	PipelineStates(ctx context.Context, ids []string) (map[string]string, error)
	// WorkflowStatuses returns the stored status of each of ids that is a stored
	// workflow; ids not stored are absent from the map.
	WorkflowStatuses(ctx context.Context, ids []string) (map[string]string, error)
	// NewestPipelines returns, for each project with stored pipelines, the
	// created_at of its newest one (pipelines stored without created_at are not
	// counted), by project slug as stored.
	NewestPipelines(ctx context.Context) (map[string]time.Time, error)
	// PendingJobs returns up to limit of the project's terminal build jobs numbered
	// above after, in number order, whose details or tests (as asked) were never
	// read nor skipped, or skipped as retry says to try again (pendingjobs.go).
	PendingJobs(ctx context.Context, projectSlug string, after int64, limit int, details, tests bool,
		retry SkipRetry) ([]PendingJob, error)
	// ConnectionStates lists the stored state of every connection, ordered by
	// connection id (bytewise).
	ConnectionStates(ctx context.Context) ([]ConnectionState, error)

	// Skipped lists the skipped-entity ledger, ordered by kind and id (bytewise).
	Skipped(ctx context.Context) ([]Skipped, error)
	// Counts counts the rows of each data table.
	Counts(ctx context.Context) (Counts, error)
	// WorkflowSummaries sums up the workflow runs created in a window with Insights'
	// definitions (metrics.go, docs/metrics.md), by project, name and branch.
	WorkflowSummaries(ctx context.Context, f WindowFilter) ([]WorkflowSummary, error)
	// QueueSummaries sums up the queue times of the build jobs queued in a window, by
	// project and resource class (metricsjobs.go).
	QueueSummaries(ctx context.Context, f WindowFilter) ([]QueueSummary, error)
	// FlakyTests lists the tests with a flake in the last 14 days (circleci_flaky_tests).
	FlakyTests(ctx context.Context) ([]FlakyTest, error)

	// Cycles keeps the ConnectionSync cycles in progress (cycles.go).
	Cycles

	// Close releases the database.
	Close() error
}

// Package activities holds circleci-sync's Temporal activities: the code that talks
// to CircleCI and the database. Workflows call them by method value on a nil
// *Activities (see package workflows); the worker registers one Activities value.
//
// Activities return only cursors and counts: page contents go straight to the store.
// Tokens are read on the worker (Credentials) and never appear in inputs, results,
// heartbeat details, errors or logs.
//
// Errors are Temporal ApplicationErrors whose types are the Err* constants (see
// errors.go): credentials, permissions and missing projects are non-retryable; a
// 429 is retryable after CircleCI's Retry-After (NextRetryDelay); 5xx, network and
// store failures are retryable. Per-entity failures (an expired pipeline, a
// workflow list that keeps answering 5xx, a missing user) do not fail an activity:
// they go to the store's skipped ledger, and are cleared from it when a later
// fetch succeeds.
//
// Files: activities.go (Activities, shared helpers), credentials.go, clients.go,
// api.go (per-run request counting and bound), errors.go, ordered.go (ordered
// concurrent processing, heartbeats), fetch.go (workflows and jobs of a pipeline),
// verify.go, discover.go, project.go (StartProject, CompleteProject,
// CompleteConnection), page.go, refresh.go, users.go.
package activities

import (
	"context"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"

	"github.com/circleci-sync/circleci-sync/store"
)

// Activities holds the activities' dependencies. Its methods are the activities.
type Activities struct {
	// Store is the database written to.
	Store store.Store
	// Credentials resolves a connection's token on the worker. Nil means
	// EnvCredentials{} (the worker's environment).
	Credentials Credentials
	// Clients builds and caches CircleCI clients, one per base URL and token, so
	// every activity of a connection shares the token's limiter. Nil means a
	// process-wide cache with default options.
	Clients *ClientCache
	// PageConcurrency bounds how many pipelines of a page are fetched at once
	// (their workflow and job lists), and how many requests an activity has in
	// flight. Zero means DefaultPageConcurrency.
	PageConcurrency int
	// MaxPagesPerActivity, when above zero, caps the pages one SyncPipelinePage
	// run covers, below what the workflow asks (PageInput.MaxPages).
	MaxPagesPerActivity int
	// DiscoveryMaxPages bounds how many pages of the organisation's pipeline
	// list DiscoverProjects reads, newest first, once projects of the
	// organisation are on record (a first discovery reads them all). Zero
	// means DefaultDiscoveryMaxPages.
	DiscoveryMaxPages int
	// ReverifyAfter: a connection verified this recently is not verified again
	// (VerifyConnection). Zero means DefaultReverifyAfter; negative, always.
	ReverifyAfter time.Duration
	// RefreshAfter: the followed projects (DiscoverProjects) and a project's
	// metadata (StartProject) read this recently are not read again. Zero means
	// DefaultRefreshAfter; negative, always.
	RefreshAfter time.Duration
	// Observer, when set, is told about every batch written (metrics).
	Observer BatchObserver
	// AllowedBaseURLs, when not nil, are the CircleCI base URLs the activities
	// send tokens to (AnyBaseURL: any); a connection with another is refused,
	// before its token is read.
	AllowedBaseURLs []string
	// TokenEnvPattern, when set, must match a connection's token_env: the
	// worker reads no other variable as a token.
	TokenEnvPattern *regexp.Regexp
	// SearchAttributes, when set, returns the names of the custom search
	// attributes registered on the namespace (RegisteredSearchAttributes).
	SearchAttributes func(ctx context.Context) []string

	// retryDelays overrides defaultRetryDelays (tests).
	retryDelays []time.Duration
}

// DefaultRefreshAfter is the default Activities.RefreshAfter.
const DefaultRefreshAfter = 24 * time.Hour

// refreshAfter is RefreshAfter or its default.
func (a *Activities) refreshAfter() time.Duration {
	if a.RefreshAfter != 0 {
		return a.RefreshAfter
	}
	return DefaultRefreshAfter
}

// fresh tells whether something done at t is fresher than d (never for a zero
// t or a d of 0 or less).
func fresh(t time.Time, d time.Duration) bool {
	return d > 0 && !t.IsZero() && time.Since(t) < d
}

// DefaultPageConcurrency is the default Activities.PageConcurrency.
const DefaultPageConcurrency = 8

// concurrency is PageConcurrency or its default.
func (a *Activities) concurrency() int {
	if a.PageConcurrency > 0 {
		return a.PageConcurrency
	}
	return DefaultPageConcurrency
}

// BatchObserver is told about every batch the activities wrote, after the write
// succeeded. It is called from the activities' goroutines, concurrently, and
// must be quick.
type BatchObserver interface {
	ObserveBatch(b store.Batch, ws store.WriteStats)
}

// write writes b in one transaction and tells the Observer.
func (a *Activities) write(ctx context.Context, b store.Batch) (store.WriteStats, error) {
	ws, err := a.Store.WriteBatch(ctx, b)
	if err == nil && a.Observer != nil {
		a.Observer.ObserveBatch(b, ws)
	}
	return ws, err
}

// checkStore fails when the Activities has no store.
func (a *Activities) checkStore() error {
	if a.Store == nil {
		return nonRetryable("the activities have no store configured", ErrInvalidInput)
	}
	return nil
}

// checkSlug fails on an empty project slug.
func checkSlug(slug string) error {
	if strings.TrimSpace(slug) == "" {
		return nonRetryable("empty project slug", ErrInvalidInput)
	}
	return nil
}

// logger is the activity logger, with the connection's id.
func logger(ctx context.Context, conn Connection) log.Logger {
	if !activity.IsActivity(ctx) {
		return nopLogger{}
	}
	return log.With(activity.GetLogger(ctx), "connection_id", conn.ConnectionID, "org_slug", conn.OrgSlug)
}

// nopLogger discards everything (outside an activity).
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

// heartbeatDetails reads the activity's heartbeat details into d, reporting
// whether there were any.
func heartbeatDetails(ctx context.Context, d any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, d) == nil
}

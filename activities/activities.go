// Package activities holds circleci-sync's Temporal activities, the code that
// talks to CircleCI and the database. They return only cursors and counts (page
// contents go straight to the store) and never carry a token: the worker reads
// it (Credentials). Their errors are ApplicationErrors typed by the Err*
// constants; per-entity failures go to the store's skipped ledger instead.
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
	Store store.Store
	// Credentials reads a connection's token on the worker (nil: EnvCredentials{}).
	Credentials Credentials
	// Clients caches a client per base URL and token, so the activities of a
	// token share its limiter (nil: a process-wide cache).
	Clients *ClientCache
	// PageConcurrency bounds the pipelines fetched at once and the requests in
	// flight of an activity (0: DefaultPageConcurrency).
	PageConcurrency int
	// MaxPagesPerActivity, above zero, caps the pages of a SyncPipelinePage run.
	MaxPagesPerActivity int
	// DiscoveryMaxPages bounds the org pipeline pages a discovery reads once
	// projects are on record (0: DefaultDiscoveryMaxPages).
	DiscoveryMaxPages int
	// ReverifyAfter: a connection verified this recently is not verified again
	// (0: DefaultReverifyAfter; negative: always verified).
	ReverifyAfter time.Duration
	// RefreshAfter: followed projects and project metadata read this recently
	// are not read again (0: DefaultRefreshAfter; negative: always read).
	RefreshAfter time.Duration
	// ExtrasRetryAfter: a job's details or tests skipped for a server error are
	// read again by the first extras run this long after (0:
	// DefaultExtrasRetryAfter; negative: at once), until ExtrasRetryFor after
	// the first failure.
	ExtrasRetryAfter time.Duration
	// Observer, when set, is told about every batch written (metrics).
	Observer BatchObserver
	// AllowedBaseURLs, when not nil, are the base URLs tokens may be sent to
	// (AnyBaseURL: any).
	AllowedBaseURLs []string
	// TokenEnvPattern, when set, must match a connection's token_env.
	TokenEnvPattern *regexp.Regexp
	// SearchAttributes, when set, names the namespace's custom search attributes.
	SearchAttributes func(ctx context.Context) []string
	// Report, when set, delivers the long activities' live progress to their
	// workflow, at most every ReportEvery (0: DefaultReportEvery).
	Report      ProgressReporter
	ReportEvery time.Duration

	retryDelays []time.Duration // overrides defaultRetryDelays (tests)
}

// DefaultRefreshAfter is the default Activities.RefreshAfter.
const DefaultRefreshAfter = 24 * time.Hour

// rereadAfter is RefreshAfter or its default: how long metadata read stays fresh.
func (a *Activities) rereadAfter() time.Duration {
	if a.RefreshAfter != 0 {
		return a.RefreshAfter
	}
	return DefaultRefreshAfter
}

// fresh tells whether t (not zero) is within d (above zero) of now.
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

// noResumeKey marks a context whose steps start afresh (see withoutResume).
type noResumeKey struct{}

// withoutResume makes the steps run with ctx ignore an earlier attempt's
// heartbeat details: SyncProject runs several steps whose details differ in
// shape, so its retry starts the project over rather than misread them.
func withoutResume(ctx context.Context) context.Context {
	return context.WithValue(ctx, noResumeKey{}, true)
}

// heartbeatDetails reads an earlier attempt's heartbeat details into d.
func heartbeatDetails(ctx context.Context, d any) bool {
	if ctx.Value(noResumeKey{}) != nil || !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, d) == nil
}

package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// a is the nil receiver the workflows name activities by (a.SyncPipelinePage...):
// the worker registers a real *activities.Activities under the same method names.
var a *activities.Activities

// Activity timeouts. A page activity heartbeats after every pipeline it writes (and
// on a timer while it waits), so PageHeartbeatTimeout is how long a dead worker
// holds a page before another worker resumes it.
const (
	// ShortActivityTimeout bounds one attempt of the plan and record activities
	// (and verification), which make a few requests or writes.
	ShortActivityTimeout = time.Minute
	// PageActivityTimeout bounds one attempt of a page, refresh or users activity.
	PageActivityTimeout = 30 * time.Minute
	// PageHeartbeatTimeout: a page activity that has not heartbeated for this long
	// is retried (resuming after its last heartbeat).
	PageHeartbeatTimeout = 20 * time.Second
	// ActivityRetryBudget bounds all the attempts of one activity: a CircleCI or
	// database outage longer than this fails the sync (visibly) instead of
	// retrying forever.
	ActivityRetryBudget = 6 * time.Hour
	// PagesPerActivity is how many pipeline pages one SyncPipelinePage activity
	// covers at most (it also stops starting pages after
	// activities.PageActivityBudget): six history events for up to 200
	// pipelines, against six for each page of 20.
	PagesPerActivity = 10
	// localActivityTimeout bounds the local activities (a lookup in the
	// worker's memory).
	localActivityTimeout = 10 * time.Second
)

// retryPolicy retries transient errors (5xx, network, database, 429 after the
// server's delay through NextRetryDelay) with exponential backoff, never the error
// types retrying cannot fix (activities.NonRetryableErrorTypes).
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
	}
}

// withShortActivity sets the options of the short activities. They heartbeat
// too (a keep-alive while a request waits for the limiter or a retry), so a
// worker that dies holds one for PageHeartbeatTimeout, not
// ShortActivityTimeout.
func withShortActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    ShortActivityTimeout,
		HeartbeatTimeout:       PageHeartbeatTimeout,
		ScheduleToCloseTimeout: ActivityRetryBudget,
		RetryPolicy:            retryPolicy(),
	})
}

// withPageActivity sets the options of the heartbeating activities.
func withPageActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    PageActivityTimeout,
		HeartbeatTimeout:       PageHeartbeatTimeout,
		ScheduleToCloseTimeout: ActivityRetryBudget,
		RetryPolicy:            retryPolicy(),
	})
}

// continueAsNewSuggested tells whether the run's history is long enough to
// continue as new.
func continueAsNewSuggested(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// summarized sets the summary the Web UI shows for the activities ctx schedules.
func summarized(ctx workflow.Context, summary string) workflow.Context {
	opts := workflow.GetActivityOptions(ctx)
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
)

// a names the activities (a.SyncPipelinePage); the worker registers a real one.
var a *activities.Activities

// Activity timeouts. Activities heartbeat, so PageHeartbeatTimeout is how long
// a dead worker holds one before another resumes it; ActivityRetryBudget bounds
// all the attempts of one (a longer outage fails the sync, visibly).
const (
	ShortActivityTimeout = time.Minute      // one attempt of plan, record, verify
	PageActivityTimeout  = 30 * time.Minute // one attempt of page, refresh, users
	PageHeartbeatTimeout = 20 * time.Second
	ActivityRetryBudget  = 6 * time.Hour
	// PagesPerActivity is how many pipeline pages one SyncPipelinePage covers at
	// most: six history events for up to 200 pipelines.
	PagesPerActivity = 10
	lookupTimeout    = 10 * time.Second
)

// retryPolicy retries transient errors with backoff (a 429 after the server's
// delay), never activities.NonRetryableErrorTypes.
func retryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: activities.NonRetryableErrorTypes,
	}
}

// withShortActivity sets the options of the short activities (they heartbeat
// too, while a request waits for the limiter); ctx's priority stays.
func withShortActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    ShortActivityTimeout,
		HeartbeatTimeout:       PageHeartbeatTimeout,
		ScheduleToCloseTimeout: ActivityRetryBudget,
		RetryPolicy:            retryPolicy(),
		Priority:               workflow.GetActivityOptions(ctx).Priority,
	})
}

// withPageActivity sets the options of the heartbeating activities; ctx's
// priority stays.
func withPageActivity(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    PageActivityTimeout,
		HeartbeatTimeout:       PageHeartbeatTimeout,
		ScheduleToCloseTimeout: ActivityRetryBudget,
		RetryPolicy:            retryPolicy(),
		Priority:               workflow.GetActivityOptions(ctx).Priority,
	})
}

// continueAsNewSuggested tells whether Temporal suggests continuing as new.
func continueAsNewSuggested(ctx workflow.Context) bool {
	return workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// summarized sets the summary the Web UI shows for the activities ctx schedules.
func summarized(ctx workflow.Context, summary string) workflow.Context {
	opts := workflow.GetActivityOptions(ctx)
	opts.Summary = summary
	return workflow.WithActivityOptions(ctx, opts)
}

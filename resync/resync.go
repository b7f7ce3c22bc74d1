// Package resync lets other Temporal workflows sync a CircleCI connection: ask
// its running sync for another cycle (Request, through the resync Update, or
// Signal), or run a sync as a child and wait for its result (RunAsChild).
//
//	res, err := resync.Request(ctx, in, workflows.ResyncRequest{Reason: "release"}, resync.Options{})
//	// res.Cycle is the cycle of circleci-sync/<connection_id> that includes the request
//
// A workflow cannot send an Update itself: Request runs the RequestResync
// activity (Activities), which the circleci-sync worker registers, on the
// circleci-sync task queue; the calling workflow may run on any task queue
// of the namespace. Example (example.go) is a workflow that does both.
package resync

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// RequestResyncName is the registered name of the activity behind Request.
const RequestResyncName = "RequestResync"

// DefaultRequestTimeout bounds one attempt of the RequestResync activity.
const DefaultRequestTimeout = time.Minute

// Options tunes the helpers. The zero value is ready.
type Options struct {
	// TaskQueue is where the circleci-sync worker polls: the RequestResync
	// activity and the child sync run there (default workflows.DefaultTaskQueue).
	TaskQueue string
	// Timeout bounds one attempt of the RequestResync activity (default
	// DefaultRequestTimeout); it is retried for up to 10 minutes.
	Timeout time.Duration
}

func (o Options) taskQueue() string {
	if o.TaskQueue == "" {
		return workflows.DefaultTaskQueue
	}
	return o.TaskQueue
}

// RequestInput is the input of the RequestResync activity.
type RequestInput struct {
	// Sync is the connection's sync input: it names the connection, and starts
	// the sync when none runs.
	Sync workflows.ConnectionSyncInput `json:"sync"`
	// Request is the re-sync request.
	Request workflows.ResyncRequest `json:"request"`
	// TaskQueue is where a sync it starts runs.
	TaskQueue string `json:"task_queue"`
}

// Request asks the connection's sync for another cycle through the resync Update
// and returns its answer: the cycle that includes the request. When no sync of
// the connection runs it starts one with in (Update-with-Start: the new sync's
// first cycle includes the request). in is validated first (a non-retryable
// "invalid_input"). A continuous sync works too.
func Request(ctx workflow.Context, in workflows.ConnectionSyncInput, req workflows.ResyncRequest,
	opts Options,
) (workflows.ResyncResponse, error) {
	if err := in.Validate(); err != nil {
		return workflows.ResyncResponse{}, err
	}
	if err := req.Validate(); err != nil {
		return workflows.ResyncResponse{}, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:              opts.taskQueue(),
		StartToCloseTimeout:    timeout,
		ScheduleToCloseTimeout: 10 * time.Minute,
		Summary:                "ask connection " + in.ConnectionID + " for a re-sync",
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: activities.NonRetryableErrorTypes},
	})
	var res workflows.ResyncResponse
	err := workflow.ExecuteActivity(actx, RequestResyncName,
		RequestInput{Sync: in, Request: req, TaskQueue: opts.taskQueue()}).Get(ctx, &res)
	return res, err
}

// Signal asks the connection's running sync for another cycle by signal, without
// an answer. The future is ready once the signal is delivered; it fails when no
// sync of the connection runs.
func Signal(ctx workflow.Context, connectionID string, req workflows.ResyncRequest) workflow.Future {
	return workflow.SignalExternalWorkflow(ctx, workflows.ConnectionWorkflowID(connectionID), "",
		workflows.ResyncSignal, req)
}

// RunAsChild runs the connection's sync as a child workflow of the caller
// (workflow ID workflows.ConnectionWorkflowID) and waits for its result. A sync
// of the connection that is already running makes the child fail to start
// (temporal.ChildWorkflowExecutionAlreadyStartedError): use Request then. A
// continuous sync never ends, so in must not be continuous.
func RunAsChild(ctx workflow.Context, in workflows.ConnectionSyncInput, opts Options) (workflows.ConnectionSyncResult, error) {
	if err := in.Validate(); err != nil {
		return workflows.ConnectionSyncResult{}, err
	}
	if in.Continuous {
		return workflows.ConnectionSyncResult{}, temporal.NewNonRetryableApplicationError(
			"RunAsChild: a continuous sync never ends; use Request", activities.ErrInvalidInput, nil)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:    workflows.ConnectionWorkflowID(in.ConnectionID),
		TaskQueue:     opts.taskQueue(),
		StaticSummary: workflows.ConnectionSummary(in),
		StaticDetails: workflows.ConnectionDetails(in, "workflow "+workflow.GetInfo(ctx).WorkflowExecution.ID+" (as its child)"),
	})
	var res workflows.ConnectionSyncResult
	err := workflow.ExecuteChildWorkflow(cctx, workflows.ConnectionSyncName, in).Get(ctx, &res)
	return res, err
}

// Activities holds the RequestResync activity; it uses the worker's Temporal
// client (activity.GetClient). Register it with RegisterActivities.
type Activities struct{}

// RegisterActivities registers the package's activities under their names.
func RegisterActivities(r interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}) {
	r.RegisterActivityWithOptions((&Activities{}).RequestResync, activity.RegisterOptions{Name: RequestResyncName})
}

// RequestResync sends the resync Update to the connection's sync, starting the
// sync with in.Sync when none runs (Update-with-Start, USE_EXISTING), waits for
// the Update's answer and returns it. An input the sync would refuse fails at
// once with a non-retryable "invalid_input".
func (Activities) RequestResync(ctx context.Context, in RequestInput) (workflows.ResyncResponse, error) {
	if err := in.Sync.Validate(); err != nil {
		return workflows.ResyncResponse{}, err
	}
	if err := in.Request.Validate(); err != nil {
		return workflows.ResyncResponse{}, err
	}
	c := activity.GetClient(ctx)
	tq := in.TaskQueue
	if tq == "" {
		tq = workflows.DefaultTaskQueue
	}
	id := workflows.ConnectionWorkflowID(in.Sync.ConnectionID)
	op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                tq,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            workflows.ConnectionSummary(in.Sync),
		StaticDetails: workflows.ConnectionDetails(in.Sync,
			"a resync request of workflow "+activity.GetInfo(ctx).WorkflowExecution.ID),
	}, workflows.ConnectionSyncName, in.Sync)
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			// One request per activity, whatever its attempts: a retry after
			// a timeout finds the Update already applied (the server dedups by
			// ID) instead of asking for one more cycle.
			UpdateID:     updateID(activity.GetInfo(ctx)),
			WorkflowID:   id,
			UpdateName:   workflows.ResyncUpdate,
			Args:         []any{in.Request},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return workflows.ResyncResponse{}, rejected(err, id)
	}
	var res workflows.ResyncResponse
	if err := h.Get(ctx, &res); err != nil {
		return workflows.ResyncResponse{}, rejected(err, id)
	}
	activity.GetLogger(ctx).Info("re-sync requested", "workflow_id", id, "run_id", h.RunID(), "cycle", res.Cycle,
		"status", res.Status)
	return res, nil
}

// updateID names the resync Update an activity sends: its workflow run and
// activity ID, the same on every attempt.
func updateID(info activity.Info) string {
	return "resync/" + info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID
}

// rejected keeps a refusal by the sync's validator non-retryable (an
// ApplicationError of type invalid_input) and wraps the rest, retryably.
func rejected(err error, id string) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("resync of %s refused: %s", id, app.Message()),
			app.Type(), nil)
	}
	return fmt.Errorf("resync of %s: %w", id, err)
}

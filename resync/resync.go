// Package resync lets other workflows sync a CircleCI connection: ask its sync for
// another cycle (Request, the resync Update; Signal) or run a sync as a child
// (RunAsChild). A workflow cannot send an Update, so Request runs the RequestResync
// activity on the circleci-sync task queue; the caller may run on any queue.
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
	// TaskQueue is the circleci-sync worker's (default workflows.DefaultTaskQueue).
	TaskQueue string
	// Timeout bounds one RequestResync attempt (default DefaultRequestTimeout).
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
	// Sync names the connection, and starts its sync when none runs.
	Sync workflows.ConnectionSyncInput `json:"sync"`
	// Request is the re-sync request.
	Request workflows.ResyncRequest `json:"request"`
	// TaskQueue is where a sync it starts runs.
	TaskQueue string `json:"task_queue"`
}

// Request asks the connection's sync for another cycle through the resync Update and
// returns the answer; when none runs it starts one with in (Update-with-Start). An
// invalid in fails with a non-retryable "invalid_input".
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

// Signal asks the connection's running sync for another cycle, without an answer; the
// future fails when none runs.
func Signal(ctx workflow.Context, connectionID string, req workflows.ResyncRequest) workflow.Future {
	return workflow.SignalExternalWorkflow(ctx, workflows.ConnectionWorkflowID(connectionID), "",
		workflows.ResyncSignal, req)
}

// RunAsChild runs the connection's sync as a child and waits for its result. A running
// sync of the connection makes it fail to start (use Request); in must not be
// continuous.
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
		Priority:      workflows.SyncPriority(in.ConnectionID, workflows.PriorityIncremental),
	})
	var res workflows.ConnectionSyncResult
	err := workflow.ExecuteChildWorkflow(cctx, workflows.ConnectionSyncName, in).Get(ctx, &res)
	return res, err
}

// Activities holds the RequestResync activity (register it with RegisterActivities).
type Activities struct{}

// RegisterActivities registers the package's activities under their names.
func RegisterActivities(r interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}) {
	r.RegisterActivityWithOptions((&Activities{}).RequestResync, activity.RegisterOptions{Name: RequestResyncName})
}

// RequestResync sends the resync Update, starting the sync with in.Sync when none runs,
// and returns the answer; an input the sync would refuse is a non-retryable error.
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
		Priority: workflows.SyncPriority(in.Sync.ConnectionID, workflows.PriorityIncremental),
	}, workflows.ConnectionSyncName, in.Sync)
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			// One Update ID per activity: a retried attempt finds it already applied.
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

// updateID is the same on every attempt of an activity.
func updateID(info activity.Info) string {
	return "resync/" + info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID
}

// rejected keeps a validator's refusal non-retryable and wraps the rest.
func rejected(err error, id string) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.NonRetryable() {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("resync of %s refused: %s", id, app.Message()),
			app.Type(), nil)
	}
	return fmt.Errorf("resync of %s: %w", id, err)
}

package receiver

import (
	"context"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// Handoff gives a verified event's target to the connection's sync, starting
// it with start when it is not running. Repeating a request (same EventID) is
// harmless: it is one request, answered TargetDuplicate.
type Handoff interface {
	Handoff(ctx context.Context, start workflows.ConnectionSyncInput, req workflows.TargetRequest) (workflows.TargetResult, error)
}

// UpdateWithStarter is the part of client.Client the Temporal hand-off uses.
type UpdateWithStarter interface {
	NewWithStartWorkflowOperation(options client.StartWorkflowOptions, workflow any, args ...any) client.WithStartWorkflowOperation
	UpdateWithStartWorkflow(ctx context.Context, options client.UpdateWithStartWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// Temporal hands off by Update-with-Start of the connection's ConnectionSync.
type Temporal struct {
	Client    UpdateWithStarter
	TaskQueue string
}

// Handoff sends the targets Update, its ID derived from the event id, so
// that Temporal deduplicates CircleCI's retries and duplicates. A rejected
// Update is an error: the sender retries, as after a deploy adding the handler.
func (t Temporal) Handoff(ctx context.Context, start workflows.ConnectionSyncInput, req workflows.TargetRequest) (workflows.TargetResult, error) {
	var res workflows.TargetResult
	op := t.Client.NewWithStartWorkflowOperation(StartOptions(start, t.TaskQueue), workflows.ConnectionSyncName, StartInput(start))
	h, err := t.Client.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions:          UpdateOptions(req),
	})
	if err == nil {
		err = h.Get(ctx, &res)
	}
	return res, err
}

// StartOptions start the connection's sync, or attach to the running one.
func StartOptions(in workflows.ConnectionSyncInput, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.ConnectionWorkflowID(in.ConnectionID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            workflows.ConnectionSummary(in),
		StaticDetails:            workflows.ConnectionDetails(in, "the webhook receiver"),
		// A targeted re-sync goes first.
		Priority: workflows.SyncPriority(in.ConnectionID, workflows.PriorityTargeted),
	}
}

// StartInput is the input a webhook starts a stopped connection with: a
// targets-only run, no cycle (the polling schedule, if any, stays in charge).
func StartInput(in workflows.ConnectionSyncInput) workflows.ConnectionSyncInput {
	in.Continuous = false
	in.Interval = nil
	in.TargetsOnly = true
	in.State = nil
	return in
}

// UpdateOptions are the targets Update's. The workflow's handler answers at
// once, so waiting for its completion costs no more than for its acceptance
// and shows rejections.
func UpdateOptions(req workflows.TargetRequest) client.UpdateWorkflowOptions {
	return client.UpdateWorkflowOptions{
		UpdateID:     workflows.TargetUpdateID(req.EventID),
		UpdateName:   workflows.TargetsUpdate,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	}
}

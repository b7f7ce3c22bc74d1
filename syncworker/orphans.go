package syncworker

import (
	"context"
	"errors"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// closed tells whether a workflow's latest run has ended for good (a run that
// continued as new is followed by a running one).
func closed(s enumspb.WorkflowExecutionStatus) bool {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED,
		enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED,
		enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return true
	}
	return false
}

// stopOrphans asks the project syncs whose reports (p, or its batch) went to
// connectionID's ended workflow to stop: a connection waits for every child
// it started before it completes, so a child reporting after that end was
// left behind by a terminated (or timed-out) connection, which used to
// terminate it too.
func stopOrphans(ctx context.Context, c client.Client, connectionID string, p activities.LiveProgress) error {
	var err error
	for _, r := range append([]activities.LiveProgress{p}, p.Batch...) {
		if r.Project != "" {
			err = errors.Join(err, c.CancelWorkflow(ctx, workflows.ProjectWorkflowID(connectionID, r.Project), ""))
		}
	}
	return err
}

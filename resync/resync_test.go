package resync

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

func input() workflows.ConnectionSyncInput {
	return workflows.ConnectionSyncInput{ConnectionID: "acme", OrgSlug: "gh/acme"}
}

func newEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	env.RegisterWorkflowWithOptions(Example, workflow.RegisterOptions{Name: ExampleName})
	env.RegisterActivityWithOptions((&Activities{}).RequestResync, activity.RegisterOptions{Name: RequestResyncName})
	return env
}

// TestExample runs the sync as a child (ID circleci-sync/<connection>, on the
// circleci-sync task queue), then asks for a re-sync through the activity.
func TestExample(t *testing.T) {
	env := newEnv()
	var childIn workflows.ConnectionSyncInput
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.ConnectionSyncInput) (workflows.ConnectionSyncResult, error) {
		childIn = in
		info := workflow.GetInfo(ctx)
		if info.WorkflowExecution.ID != workflows.ConnectionWorkflowID(in.ConnectionID) || info.TaskQueueName != "q" {
			return workflows.ConnectionSyncResult{}, errors.New("wrong workflow ID or task queue: " + info.WorkflowExecution.ID + " " + info.TaskQueueName)
		}
		return workflows.ConnectionSyncResult{ConnectionID: in.ConnectionID, Cycle: 1, Runs: 1}, nil
	}, workflow.RegisterOptions{Name: workflows.ConnectionSyncName})
	var req RequestInput
	env.OnActivity(RequestResyncName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in RequestInput) (workflows.ResyncResponse, error) {
			req = in
			return workflows.ResyncResponse{Cycle: 1, Status: workflows.ResyncIncluded, RunningCycle: 1, Pending: 1}, nil
		})
	env.ExecuteWorkflow(ExampleName, ExampleInput{Sync: input(), Options: Options{TaskQueue: "q"}})
	require.NoError(t, env.GetWorkflowError())
	var res ExampleResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "acme", childIn.ConnectionID)
	assert.Equal(t, 1, res.Synced.Cycle)
	assert.Equal(t, workflows.ResyncIncluded, res.Resync.Status)
	assert.Equal(t, "q", req.TaskQueue)
	assert.Equal(t, "requested by "+ExampleName, req.Request.Reason)
	assert.Equal(t, input(), req.Sync)
}

// TestHelpersRefuseBadInput: an input or request the sync would refuse fails
// at once, non-retryably, without a child or an activity; so does a continuous
// sync as a child (it never ends).
func TestHelpersRefuseBadInput(t *testing.T) {
	for name, call := range map[string]func(ctx workflow.Context) error{
		"request without org": func(ctx workflow.Context) error {
			_, err := Request(ctx, workflows.ConnectionSyncInput{ConnectionID: "x"}, workflows.ResyncRequest{}, Options{})
			return err
		},
		"request with a long reason": func(ctx workflow.Context) error {
			_, err := Request(ctx, input(), workflows.ResyncRequest{Reason: string(make([]byte, 201))}, Options{})
			return err
		},
		"continuous child": func(ctx workflow.Context) error {
			in := input()
			in.Continuous = true
			_, err := RunAsChild(ctx, in, Options{})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			env := newEnv()
			env.ExecuteWorkflow(func(ctx workflow.Context) error { return call(ctx) })
			var app *temporal.ApplicationError
			require.True(t, errors.As(env.GetWorkflowError(), &app), "%v", env.GetWorkflowError())
			assert.Equal(t, activities.ErrInvalidInput, app.Type())
			assert.True(t, app.NonRetryable())
		})
	}
}

// TestSignal signals the connection's workflow, whatever its run.
func TestSignal(t *testing.T) {
	env := newEnv()
	env.OnSignalExternalWorkflow(mock.Anything, workflows.ConnectionWorkflowID("acme"), "", workflows.ResyncSignal,
		workflows.ResyncRequest{Reason: "r"}).Return(nil).Once()
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		return Signal(ctx, "acme", workflows.ResyncRequest{Reason: "r"}).Get(ctx, nil)
	})
	require.NoError(t, env.GetWorkflowError())
	env.AssertExpectations(t)
}

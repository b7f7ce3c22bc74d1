package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// standIn stands for a ProjectSync: it ends as its "end" signal says.
func standIn(ctx workflow.Context) (ProjectSyncResult, error) {
	var how string
	workflow.GetSignalChannel(ctx, "end").Receive(ctx, &how)
	if how == "fail" {
		return ProjectSyncResult{}, temporal.NewNonRetryableApplicationError("boom", "server_error", nil)
	}
	if how == "continue" {
		return ProjectSyncResult{}, workflow.NewContinueAsNewError(ctx, "standIn")
	}
	return ProjectSyncResult{ProjectSlug: workflow.GetInfo(ctx).WorkflowExecution.ID, Runs: 1}, nil
}

// TestWaitForProjectsOnARealServer: how each way a child can end reaches the
// connection's next run, on a dev server; a child still running is left out.
func TestWaitForProjectsOnARealServer(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c := srv.Client()
	w := worker.New(c, "wait-projects", worker.Options{})
	w.RegisterWorkflowWithOptions(standIn, workflow.RegisterOptions{Name: "standIn"})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	ctx := context.Background()
	start := func(id string) CarriedProject {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "wait-projects"}, "standIn")
		require.NoError(t, err)
		return CarriedProject{Slug: id, WorkflowID: id, RunID: run.GetRunID()}
	}
	end := func(p CarriedProject, how string) {
		require.NoError(t, c.SignalWorkflow(ctx, p.WorkflowID, "", "end", how))
	}
	done, failed, terminated, running, chained := start("done"), start("failed"), start("terminated"), start("running"),
		start("chained")
	end(done, "ok")
	end(failed, "fail")
	end(chained, "continue") // its next run ends later, and the wait follows the chain
	require.NoError(t, c.TerminateWorkflow(ctx, terminated.WorkflowID, "", "test"))
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflow(ctx, failed.WorkflowID, "")
		return err == nil && d.RawResponse.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_FAILED
	}, 10*time.Second, 50*time.Millisecond)
	lost := CarriedProject{Slug: "lost", WorkflowID: "never-started"}

	// One round returns as soon as one child has ended, with those that
	// answered by then; never one still running.
	all := WaitForProjectsInput{Projects: []CarriedProject{done, failed, terminated, running, chained, lost}}
	ended, err := waitForProjects(ctx, c, all, time.Minute, func() {})
	require.NoError(t, err)
	assert.NotEmpty(t, ended)
	for _, e := range ended {
		assert.NotContains(t, []string{"running", "chained"}, e.ProjectSlug)
	}

	// Asked until each has answered: how each ended.
	e := waitFor(t, c, done)
	assert.Empty(t, e.ErrorType)
	assert.Equal(t, ProjectSyncResult{ProjectSlug: "done", Runs: 1}, e.Result)
	for _, p := range []CarriedProject{failed, terminated, lost} {
		e := waitFor(t, c, p)
		assert.Equal(t, map[string]string{"failed": "server_error", "terminated": "terminated", "lost": ProjectLostError}[p.Slug],
			e.ErrorType, p.Slug)
		assert.NotEmpty(t, e.Error)
	}
	go func() { time.Sleep(300 * time.Millisecond); end(chained, "ok") }()
	assert.Equal(t, "chained", waitFor(t, c, chained).Result.ProjectSlug, "the wait follows continue-as-new")

	ended, err = waitForProjects(ctx, c, WaitForProjectsInput{Projects: []CarriedProject{running}}, time.Second, func() {})
	require.NoError(t, err)
	assert.Empty(t, ended, "a child still running at the bound is left out")
}

// waitFor waits for p alone until it has ended.
func waitFor(t *testing.T, c client.Client, p CarriedProject) EndedProject {
	t.Helper()
	for range 10 {
		ended, err := waitForProjects(context.Background(), c, WaitForProjectsInput{Projects: []CarriedProject{p}},
			10*time.Second, func() {})
		require.NoError(t, err)
		if len(ended) == 1 {
			return ended[0]
		}
	}
	t.Fatalf("%s did not end", p.Slug)
	return EndedProject{}
}

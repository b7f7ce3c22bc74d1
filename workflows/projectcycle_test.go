package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// mockSyncProject mocks SyncProject with res, counting its calls and keeping its input.
func mockSyncProject(env *testsuite.TestWorkflowEnvironment, res activities.ProjectCycleResult, err error,
	calls *int, seen *activities.ProjectCycleInput) {
	env.OnActivity(a.SyncProject, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProjectCycleInput) (activities.ProjectCycleResult, error) {
			*calls++
			*seen = in
			return res, err
		})
}

func TestProjectSyncCompletesInOneActivityWhenThePagesFit(t *testing.T) {
	env := newEnv(t) // the step activities are not mocked: calling one fails the test
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0.Add(-2 * time.Hour), StartedAt: t0}
	counts := activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 3}, Requests: 9}
	var calls int
	var in activities.ProjectCycleInput
	mockSyncProject(env, activities.ProjectCycleResult{Plan: plan, Page: activities.PageResult{Done: true,
		Newest: t0.Add(-time.Hour)}, Refreshed: true, Completed: true, Watermark: t0.Add(-time.Hour), Counts: counts},
		nil, &calls, &in)

	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 1, calls)
	assert.Equal(t, PagesPerActivity, in.MaxPages)
	assert.Equal(t, 72*time.Hour, in.RerunWindow.D())
	assert.Equal(t, time.Hour, in.Start.Overlap.D())
	assert.Equal(t, t0.Add(-time.Hour), res.Watermark)
	assert.Equal(t, int64(9), res.Counts.Requests)
	assert.Equal(t, int64(3), res.Counts.Of(store.KindPipeline))
	assert.True(t, res.Incremental)
	assert.Nil(t, res.LastError)
}

func TestProjectSyncGoesOnFromWhereSyncProjectStopped(t *testing.T) {
	env := newEnv(t)
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0.Add(-48 * time.Hour),
		StopBefore: t0.Add(-49 * time.Hour), StartedAt: t0}
	var calls int
	var in activities.ProjectCycleInput
	mockSyncProject(env, activities.ProjectCycleResult{Plan: plan, Page: activities.PageResult{NextPageToken: "token-11",
		Newest: t0.Add(-time.Minute), Lowest: 100, Counts: activities.SyncCounts{Pages: 10}},
		Counts: activities.SyncCounts{Pages: 10, Requests: 400}}, nil, &calls, &in)
	var seen []activities.PageInput
	var completed activities.CompleteProjectInput
	var refreshed activities.RefreshInput
	mockProjectActivities(env, activities.ProjectPlan{}, 1, &seen, &completed, &refreshed)

	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, seen, 1)
	assert.Equal(t, "token-11", seen[0].PageToken)
	assert.Equal(t, 11, seen[0].PageNumber)
	assert.Equal(t, int64(100), seen[0].Below)
	assert.Equal(t, plan.StopBefore, refreshed.SyncedSince)
	assert.Equal(t, t0.Add(-time.Minute), completed.Watermark, "the newest pipeline of the first pages")
	assert.Equal(t, int64(400+41+2), completed.Counts.Requests)
}

func TestProjectSyncRunsTheDueRepairBeforeTheRecord(t *testing.T) {
	env := newEnv(t)
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0.Add(-time.Hour), StartedAt: t0,
		Repair: activities.RepairPlan{Due: true, From: t0.Add(-50 * time.Hour)}}
	var calls int
	var in activities.ProjectCycleInput
	mockSyncProject(env, activities.ProjectCycleResult{Plan: plan, Page: activities.PageResult{Done: true},
		Refreshed: true}, nil, &calls, &in)
	var order []string
	env.OnActivity(a.RepairProject, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RepairInput) (activities.RepairResult, error) {
			order = append(order, "repair from "+in.From.Format(time.RFC3339))
			return activities.RepairResult{}, nil
		})
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.CompleteProjectInput) error {
			order = append(order, "record")
			return nil
		})

	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, []string{"repair from " + t0.Add(-50*time.Hour).Format(time.RFC3339), "record"}, order)
}

func TestProjectSyncRunsTheStepsWhenSyncProjectFails(t *testing.T) {
	env := newEnv(t)
	var calls int
	var in activities.ProjectCycleInput
	mockSyncProject(env, activities.ProjectCycleResult{}, errors.New("connection reset"), &calls, &in)
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0.Add(-48 * time.Hour), StartedAt: t0, Requests: 1}
	var seen []activities.PageInput
	var completed activities.CompleteProjectInput
	var refreshed activities.RefreshInput
	mockProjectActivities(env, plan, 2, &seen, &completed, &refreshed)

	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Greater(t, calls, 1, "retried within the page activities' budget, then the steps")
	require.Len(t, seen, 2)
	assert.Equal(t, "", seen[0].PageToken, "paging starts again from the first page")
	assert.Equal(t, int64(2*41+2+1), completed.Counts.Requests)
	require.NotNil(t, res.LastError)
	assert.Equal(t, "sync", res.LastError.Where)
}

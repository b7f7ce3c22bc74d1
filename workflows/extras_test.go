package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestProjectSyncReadsTheExtrasUntilDone: with extras, SyncJobExtras runs after the
// refresh, from where the last call stopped, until done, then the record; its
// figures add to the project's.
func TestProjectSyncReadsTheExtrasUntilDone(t *testing.T) {
	env := newEnv(t)
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0, StartedAt: t0}
	var calls int
	var in activities.ProjectCycleInput
	mockSyncProject(env, activities.ProjectCycleResult{Plan: plan, Page: activities.PageResult{Done: true},
		Refreshed: true}, nil, &calls, &in)
	var order []string
	var afters []int64
	env.OnActivity(a.SyncJobExtras, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.JobExtrasInput) (activities.JobExtrasResult, error) {
			order = append(order, "extras")
			afters = append(afters, in.After)
			assert.Equal(t, activities.JobExtras{Details: true, Tests: true, TestsJobs: "test"}, in.Extras)
			res := activities.JobExtrasResult{After: in.After + 50, Done: in.After >= 50,
				Counts: activities.SyncCounts{Requests: 7, Entities: map[string]int64{store.KindJobDetails: 5}}}
			return res, nil
		})
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CompleteProjectInput) error {
			order = append(order, "record")
			assert.Equal(t, int64(10), in.Counts.Of(store.KindJobDetails))
			return nil
		})

	pin := projectInput()
	pin.Extras = activities.JobExtras{Details: true, Tests: true, TestsJobs: "test"}
	env.ExecuteWorkflow(ProjectSync, pin)
	require.NoError(t, env.GetWorkflowError())
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, []string{"extras", "extras", "record"}, order)
	assert.Equal(t, []int64{0, 50}, afters)
	assert.Equal(t, int64(10), res.Counts.Of(store.KindJobDetails))
	assert.Equal(t, int64(14), res.Counts.Requests)
}

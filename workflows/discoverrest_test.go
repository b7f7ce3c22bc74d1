package workflows

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/activities"
)

// TestConnectionSyncOverlapsTheOrgList: the first project starts while the org
// pipeline list is read; the projects the list adds join the cycle and sync, and
// its requests count.
func TestConnectionSyncOverlapsTheOrgList(t *testing.T) {
	env := newEnv(t)
	all := projects(3)
	m := &connMocks{skipPlan: true, cycle: all}
	mockConnectionActivities(env, m)
	env.OnActivity(a.VerifyConnection, mock.Anything, mock.Anything).Return(activities.VerifyReport{Requests: 5}, nil)
	env.OnActivity(a.DiscoverCycle, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DiscoverInput) (activities.CycleDiscovery, error) {
			assert.True(t, in.OrgListLater, "the workflow asks for the org list to be left")
			return activities.CycleDiscovery{Projects: 1, First: all[:1], Requests: 1, Rest: true, FirstSync: true}, nil
		})
	env.OnActivity(a.DiscoverCycleRest, mock.Anything, mock.Anything).Return(
		activities.CycleDiscovery{Projects: 3, Requests: 7}, nil).Once()
	f := &fakeProjects{}
	registerFakeProjects(env, f)

	env.ExecuteWorkflow(ConnectionSyncName, validInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, all, f.started, "the followed project first, then those the list added")
	require.Len(t, res.Projects, 3)
	assert.Equal(t, int64(3*12+3+5+1+7), res.Totals.Requests, "projects + users + verify + discover + the list")
}

// TestConnectionSyncOrgListFails: the org pipeline list fails: no project starts
// after it, the running one finishes, and the cycle fails with the list's error.
func TestConnectionSyncOrgListFails(t *testing.T) {
	env := newEnv(t)
	all := projects(3)
	m := &connMocks{skipPlan: true, cycle: all}
	mockConnectionActivities(env, m)
	env.OnActivity(a.VerifyConnection, mock.Anything, mock.Anything).Return(activities.VerifyReport{Requests: 5}, nil)
	env.OnActivity(a.DiscoverCycle, mock.Anything, mock.Anything).Return(
		activities.CycleDiscovery{Projects: 1, First: all[:1], Requests: 1, Rest: true, FirstSync: true}, nil)
	env.OnActivity(a.DiscoverCycleRest, mock.Anything, mock.Anything).Return(activities.CycleDiscovery{},
		temporal.NewNonRetryableApplicationError("the org is gone", activities.ErrInvalidInput, nil))
	f := &fakeProjects{}
	registerFakeProjects(env, f)

	env.ExecuteWorkflow(ConnectionSyncName, validInput())
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	assert.Contains(t, env.GetWorkflowError().Error(), "the org is gone")
	assert.Equal(t, all[:1], f.started)
}

package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// mockInline mocks SyncProject, the connection's inline project activity, with fn.
func mockInline(env *testsuite.TestWorkflowEnvironment, fn func(slug string) (activities.ProjectCycleResult, error)) {
	env.OnActivity(a.SyncProject, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ProjectCycleInput) (activities.ProjectCycleResult, error) {
			return fn(in.Start.ProjectSlug)
		}).Maybe()
}

// inlineDone is an incremental SyncProject that finished the project.
func inlineDone(string) activities.ProjectCycleResult {
	return activities.ProjectCycleResult{Plan: activities.ProjectPlan{Incremental: true, StartedAt: t0},
		Page: activities.PageResult{Done: true}, Refreshed: true, Completed: true,
		Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 2}, Requests: 4}}
}

// childInputs is a stand-in ProjectSync keeping the inputs it was started with.
type childInputs struct {
	mu sync.Mutex
	in map[string]ProjectSyncInput
}

func (c *childInputs) register(env *testsuite.TestWorkflowEnvironment) {
	c.in = map[string]ProjectSyncInput{}
	env.RegisterWorkflowWithOptions(ConnectionSync, workflow.RegisterOptions{Name: ConnectionSyncName})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
		c.mu.Lock()
		c.in[in.ProjectSlug] = in
		c.mu.Unlock()
		return ProjectSyncResult{ProjectSlug: in.ProjectSlug, Incremental: true,
			Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 30}, Requests: 50}}, nil
	}, workflow.RegisterOptions{Name: ProjectSyncName})
}

func TestIncrementalCycleSyncsItsProjectsInline(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{synced: true})
	f := &fakeProjects{}
	registerFakeProjects(env, f)
	var mu sync.Mutex
	var running, peak int
	mockInline(env, func(slug string) (activities.ProjectCycleResult, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // lets the fan-out's bound show
		mu.Lock()
		running--
		mu.Unlock()
		return inlineDone(slug), nil
	})
	in := validInput(projects(5)...)

	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Empty(t, f.started, "no child workflow")
	assert.LessOrEqual(t, peak, in.MaxConcurrentProjects)
	require.Len(t, res.Projects, 5)
	for _, o := range res.Projects {
		assert.Equal(t, ProjectOutcome{ProjectSlug: o.ProjectSlug, Inline: true, Status: ProjectCompleted,
			Incremental: true, Counts: inlineDone("").Counts}, o)
	}
	assert.Equal(t, int64(10), res.Totals.Of(store.KindPipeline))
	assert.Equal(t, int64(5*4+3+5+1), res.Totals.Requests, "projects + users + verify + discover")
}

func TestInlineProjectLeftUnfinishedGoesOnInItsChild(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{synced: true})
	c := &childInputs{}
	c.register(env)
	big := projects(3)[1]
	unfinished := activities.ProjectCycleResult{Plan: activities.ProjectPlan{Incremental: true, StartedAt: t0},
		Page:   activities.PageResult{NextPageToken: "token-11", Counts: activities.SyncCounts{Pages: 10}},
		Counts: activities.SyncCounts{Pages: 10, Requests: 30}}
	failing := projects(3)[2]
	mockInline(env, func(slug string) (activities.ProjectCycleResult, error) {
		switch slug {
		case big:
			return unfinished, nil
		case failing:
			return activities.ProjectCycleResult{}, errors.New("connection reset")
		}
		return inlineDone(slug), nil
	})

	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(3)...))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, c.in, 2, "a child for the unfinished and the failing project only")
	require.NotNil(t, c.in[big].Resume)
	assert.Equal(t, unfinished, *c.in[big].Resume, "the child goes on from the inline result")
	assert.Nil(t, c.in[failing].Resume, "the child of a failed inline sync starts over")
	require.Len(t, res.Projects, 3)
	assert.True(t, res.Projects[0].Inline)
	for _, o := range res.Projects[1:] {
		assert.False(t, o.Inline)
		assert.Equal(t, ProjectWorkflowID("acme", o.ProjectSlug), o.WorkflowID)
		assert.Equal(t, int64(50), o.Counts.Requests, "the child's figures include the inline result's")
	}
	assert.Equal(t, 0, res.FailedProjects)
}

func TestInlineAttemptsAreBounded(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{synced: true})
	c := &childInputs{}
	c.register(env)
	var mu sync.Mutex
	calls := 0
	mockInline(env, func(string) (activities.ProjectCycleResult, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return activities.ProjectCycleResult{}, temporal.NewApplicationError("store down", "store")
	})

	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(1)...))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, InlineAttempts, calls)
	assert.Len(t, c.in, 1, "then the child takes over")
}

func TestCycleWithJobExtrasKeepsItsChildren(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{synced: true})
	f := &fakeProjects{}
	registerFakeProjects(env, f)
	in := validInput(projects(2)...)
	in.Include = []string{IncludeTests}

	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	assert.Len(t, f.started, 2, "SyncProject reads no extras: the children do")
}

func TestProjectSyncGoesOnFromTheConnectionsResult(t *testing.T) {
	env := newEnv(t) // neither SyncProject nor StartProject is mocked: calling one fails the test
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0.Add(-48 * time.Hour),
		StopBefore: t0.Add(-49 * time.Hour), StartedAt: t0}
	var seen []activities.PageInput
	var completed activities.CompleteProjectInput
	var refreshed activities.RefreshInput
	mockProjectActivities(env, activities.ProjectPlan{}, 1, &seen, &completed, &refreshed)
	in := projectInput()
	in.Resume = &activities.ProjectCycleResult{Plan: plan, Page: activities.PageResult{NextPageToken: "token-11",
		Newest: t0.Add(-time.Minute), Lowest: 100, Counts: activities.SyncCounts{Pages: 10}},
		Counts: activities.SyncCounts{Pages: 10, Requests: 400}}

	env.ExecuteWorkflow(ProjectSync, in)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, seen, 1)
	assert.Equal(t, "token-11", seen[0].PageToken)
	assert.Equal(t, 11, seen[0].PageNumber)
	assert.Equal(t, plan.StopBefore, refreshed.SyncedSince)
	assert.Equal(t, t0.Add(-time.Minute), completed.Watermark)
	assert.Equal(t, int64(400+41+2), completed.Counts.Requests)
}

// An inline project's SyncProject reports to the connection as the project's
// step: the connection shows its figures while it runs.
func TestInlineProjectShowsLive(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{synced: true})
	registerFakeProjects(env, &fakeProjects{})
	env.OnActivity(a.SyncProject, mock.Anything, mock.Anything).After(time.Minute).Return(inlineDone(""), nil)
	slug := projects(1)[0]
	env.RegisterDelayedCallback(func() {
		p := pipelines(activities.StepProject, 9)
		p.Project = slug
		env.SignalWorkflow(LiveProgressSignal, p)
	}, 20*time.Second)
	var during ConnectionProgress
	queryProgressAt(t, env, &during, 30*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(slug))
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, during.RunningProjects, 1)
	assert.Equal(t, RunningProject{ProjectSlug: slug, Phase: PhasePages, Counts: pipelines("", 9).Counts},
		during.RunningProjects[0])
	assert.Equal(t, int64(9), during.Totals.Of(store.KindPipeline))
}

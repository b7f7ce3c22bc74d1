package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// pipelines is a LiveProgress of step with n pipelines.
func pipelines(step string, n int64) activities.LiveProgress {
	return activities.LiveProgress{Step: step, Counts: activities.SyncCounts{Pages: 1,
		Entities: map[string]int64{store.KindPipeline: n}, Requests: 3 * n}}
}

// A page activity's live reports show in the progress query while it runs; a
// report of another step is dropped; its result replaces its reports.
func TestProjectProgressShowsTheRunningActivitysReports(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(activities.ProjectPlan{StartedAt: t0}, nil)
	env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).After(time.Minute).Return(
		activities.PageResult{Done: true, Counts: activities.SyncCounts{Pages: 2,
			Entities: map[string]int64{store.KindPipeline: 30}}}, nil)
	env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(activities.SyncCounts{}, nil)
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(nil)
	var before, during, stale ProjectProgress
	queryProgressAt(t, env, &before, 5*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(LiveProgressSignal, pipelines(activities.PagesStep(1), 12))
	}, 10*time.Second)
	queryProgressAt(t, env, &during, 15*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(LiveProgressSignal, pipelines(activities.PagesStep(7), 99))
	}, 20*time.Second)
	queryProgressAt(t, env, &stale, 25*time.Second)
	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	assert.Zero(t, before.Counts.Of(store.KindPipeline))
	assert.Equal(t, PhasePages, during.Phase)
	assert.Equal(t, int64(12), during.Counts.Of(store.KindPipeline), "the running activity's report")
	assert.Equal(t, int64(36), during.Counts.Requests)
	assert.Equal(t, int64(12), stale.Counts.Of(store.KindPipeline), "a report of another step is dropped")
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, int64(30), res.Counts.Of(store.KindPipeline), "the result replaces the reports")
}

// The connection shows its running projects' reports in its totals and lists;
// a report of a project not running is dropped.
func TestConnectionProgressShowsRunningProjects(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	var during, after ConnectionProgress
	running := projects(3)[0]
	env.RegisterDelayedCallback(func() {
		p := pipelines("", 8)
		p.Project, p.Phase = running, PhasePages
		env.SignalWorkflow(LiveProgressSignal, p)
		p.Project = "gh/acme/not-running"
		env.SignalWorkflow(LiveProgressSignal, p)
	}, 20*time.Second)
	queryProgressAt(t, env, &during, 30*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(3)...))
	require.NoError(t, env.GetWorkflowError())
	queryProgress(t, env, &after)
	require.Len(t, during.RunningProjects, 2)
	assert.Equal(t, RunningProject{ProjectSlug: running, Phase: PhasePages, Counts: pipelines("", 8).Counts},
		during.RunningProjects[0])
	assert.Equal(t, int64(8), during.Totals.Of(store.KindPipeline), "the totals include the running projects")
	assert.Equal(t, int64(6+24), during.Totals.Requests)
	assert.Empty(t, after.RunningProjects)
}

// A project announces its step with the figures before it; the step's
// activity reports to the connection itself, and the connection adds the two.
// A report that comes before its step's announcement waits for it; a report
// of another step is dropped.
func TestConnectionAddsTheActivitysReportsToTheProjectsStep(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	running := projects(3)[0]
	var early, announced, reported, stale ConnectionProgress
	query := func(into *ConnectionProgress) func() {
		return func() {
			queryProgress(t, env, into)
		}
	}
	signal := func(p activities.LiveProgress, phase string) func() {
		return func() {
			p.Project, p.Phase = running, phase
			env.SignalWorkflow(LiveProgressSignal, p)
		}
	}
	step := activities.PagesStep(11)
	env.RegisterDelayedCallback(signal(pipelines(step, 4), ""), 11*time.Second)
	env.RegisterDelayedCallback(query(&early), 12*time.Second)
	env.RegisterDelayedCallback(signal(pipelines(step, 100), PhasePages), 13*time.Second)
	env.RegisterDelayedCallback(query(&announced), 14*time.Second)
	env.RegisterDelayedCallback(signal(pipelines(step, 7), ""), 15*time.Second)
	env.RegisterDelayedCallback(query(&reported), 16*time.Second)
	env.RegisterDelayedCallback(signal(pipelines(activities.PagesStep(1), 50), ""), 17*time.Second)
	env.RegisterDelayedCallback(query(&stale), 18*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(3)...))
	require.NoError(t, env.GetWorkflowError())
	of := func(p ConnectionProgress) int64 { return p.RunningProjects[0].Counts.Of(store.KindPipeline) }
	assert.Zero(t, of(early), "a report before its step's announcement waits")
	assert.Equal(t, int64(104), of(announced), "the waiting report joins its step")
	assert.Equal(t, int64(107), of(reported), "the step's latest report on top of the figures before it")
	assert.Equal(t, int64(107), of(stale), "a report of another step is dropped")
	assert.Equal(t, PhasePages, reported.RunningProjects[0].Phase)
}

// A batch of reports (the worker gathered them into one signal) updates every
// running project it names.
func TestConnectionTakesABatchOfReports(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	ps := projects(3)
	step := activities.PagesStep(1)
	env.RegisterDelayedCallback(func() {
		var batch activities.LiveProgress
		for i, slug := range ps[:2] {
			announce := pipelines(step, 0)
			announce.Project, announce.Phase = slug, PhasePages
			env.SignalWorkflow(LiveProgressSignal, announce)
			p := pipelines(step, int64(5*(i+1)))
			p.Project = slug
			batch.Batch = append(batch.Batch, p)
		}
		env.SignalWorkflow(LiveProgressSignal, batch)
	}, 11*time.Second)
	var during ConnectionProgress
	queryProgressAt(t, env, &during, 12*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(ps...))
	require.NoError(t, env.GetWorkflowError())
	got := map[string]int64{}
	for _, rp := range during.RunningProjects {
		got[rp.ProjectSlug] = rp.Counts.Of(store.KindPipeline)
	}
	assert.Equal(t, map[string]int64{ps[0]: 5, ps[1]: 10}, got)
}

package workflows

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// newEnv returns a test workflow environment with the activities registered (they
// are mocked per test) and a generous deadlock timeout for slow CI machines.
func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	env.RegisterActivity(&activities.Activities{})
	RegisterActivities(env)
	env.SetTestTimeout(time.Minute)
	return env
}

// queryProgress runs the progress query into into.
func queryProgress(t *testing.T, env *testsuite.TestWorkflowEnvironment, into any) {
	t.Helper()
	v, err := env.QueryWorkflow(ProgressQuery)
	require.NoError(t, err)
	require.NoError(t, v.Get(into))
}

// queryProgressAt answers the progress query into `into` when the test
// environment's clock reaches d.
func queryProgressAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, into any, d time.Duration) {
	t.Helper()
	env.RegisterDelayedCallback(func() { queryProgress(t, env, into) }, d)
}

func validInput(projects ...string) ConnectionSyncInput {
	return ConnectionSyncInput{ConnectionID: "acme", OrgSlug: "gh/acme", Projects: projects, MaxConcurrentProjects: 2}
}

// connMocks override the connection-level activity mocks; nil means success.
type connMocks struct {
	verify  func(context.Context, activities.VerifyInput) (activities.VerifyReport, error)
	resolve func(context.Context, activities.ResolveUsersInput) (activities.ResolveUsersResult, error)
	// completed receives FinishCycle's record, its users' counts added.
	completed *activities.CompleteConnectionInput
	// onComplete, when set, runs in FinishCycle.
	onComplete func()
	// skipPlan leaves VerifyConnection and DiscoverCycle unmocked: calling
	// them fails the test.
	skipPlan bool
	// cycle are the projects DiscoverCycle found, for CycleProjects.
	cycle []string
	// synced: the org was synced before (an incremental cycle, its projects
	// run inline first); else DiscoverCycle reports a first sync (children).
	synced bool
}

// mockConnectionActivities mocks the connection-level activities.
func mockConnectionActivities(env *testsuite.TestWorkflowEnvironment, m *connMocks) {
	if m.verify == nil {
		m.verify = func(context.Context, activities.VerifyInput) (activities.VerifyReport, error) {
			return activities.VerifyReport{Requests: 5}, nil
		}
	}
	if m.resolve == nil {
		m.resolve = func(context.Context, activities.ResolveUsersInput) (activities.ResolveUsersResult, error) {
			return activities.ResolveUsersResult{Referenced: 3, Counts: activities.SyncCounts{Entities: map[string]int64{store.KindUser: 3}, Requests: 3}}, nil
		}
	}
	if !m.skipPlan {
		env.OnActivity(a.VerifyConnection, mock.Anything, mock.Anything).Return(m.verify)
		env.OnActivity(a.DiscoverCycle, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.DiscoverInput) (activities.CycleDiscovery, error) {
				m.cycle = in.Projects
				return activities.CycleDiscovery{Projects: len(in.Projects), FirstSync: !m.synced,
					First: in.Projects[:min(len(in.Projects), activities.CycleFirstProjects)], Requests: 1}, nil
			})
	}
	env.OnActivity(a.CycleProjects, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CyclePageInput) ([]string, error) {
			return m.cycle[in.Offset:min(in.Offset+in.Limit, len(m.cycle))], nil
		}).Maybe()
	env.OnActivity(a.FinishCycle, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.FinishCycleInput) (activities.ResolveUsersResult, error) {
			users, err := m.resolve(ctx, in.Users)
			if err != nil {
				return users, err
			}
			in.Complete.Counts.Then(users.Counts)
			if m.completed != nil {
				*m.completed = in.Complete
			}
			if m.onComplete != nil {
				m.onComplete()
			}
			return users, nil
		})
}

// fakeProjects is a stand-in ProjectSync that records how many run at once and
// fails the projects listed in fail.
type fakeProjects struct {
	mu      sync.Mutex
	running int
	peak    int
	started []string
	fail    map[string]error
}

func (f *fakeProjects) run(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
	f.mu.Lock()
	f.running++
	f.peak = max(f.peak, f.running)
	f.started = append(f.started, in.ProjectSlug)
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.running--; f.mu.Unlock() }()
	if err := workflow.Sleep(ctx, time.Minute); err != nil {
		return ProjectSyncResult{}, err
	}
	if err := f.fail[in.ProjectSlug]; err != nil {
		return ProjectSyncResult{}, err
	}
	return ProjectSyncResult{ProjectSlug: in.ProjectSlug, Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 10}, Requests: 12}, Runs: 1}, nil
}

func registerFakeProjects(env *testsuite.TestWorkflowEnvironment, f *fakeProjects) {
	env.RegisterWorkflowWithOptions(ConnectionSync, workflow.RegisterOptions{Name: ConnectionSyncName})
	env.RegisterWorkflowWithOptions(f.run, workflow.RegisterOptions{Name: ProjectSyncName})
}

func projects(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("gh/acme/repo-%02d", i))
	}
	return out
}

func TestConnectionSyncBoundsTheFanOut(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	f := &fakeProjects{}
	registerFakeProjects(env, f)
	in := validInput(projects(7)...)
	in.MaxConcurrentProjects = 3

	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))

	assert.Equal(t, 3, f.peak, "at most max_concurrent_projects children at once, and the bound is used")
	assert.Len(t, f.started, 7)
	require.Len(t, res.Projects, 7)
	for i, o := range res.Projects {
		assert.Equal(t, projects(7)[i], o.ProjectSlug, "outcomes sorted by slug")
		assert.Equal(t, ProjectCompleted, o.Status)
		assert.Equal(t, ProjectWorkflowID("acme", o.ProjectSlug), o.WorkflowID)
	}
	assert.Equal(t, int64(70), res.Totals.Of(store.KindPipeline))
	assert.Equal(t, int64(7*12+3+5+1), res.Totals.Requests, "projects + users + verify + discover")
	assert.Equal(t, 0, res.FailedProjects)
	assert.Equal(t, 1, res.Runs)
}

func TestConnectionSyncIsolatesAFailingProject(t *testing.T) {
	env := newEnv(t)
	var resolvedFor []string
	var completed activities.CompleteConnectionInput
	mockConnectionActivities(env, &connMocks{resolve: func(_ context.Context, in activities.ResolveUsersInput) (activities.ResolveUsersResult, error) {
		resolvedFor = in.Projects
		return activities.ResolveUsersResult{}, nil
	}, completed: &completed})
	f := &fakeProjects{fail: map[string]error{
		"gh/acme/repo-01": temporal.NewNonRetryableApplicationError("project gh/acme/repo-01 not found",
			activities.ErrProjectNotFound, nil),
	}}
	registerFakeProjects(env, f)

	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(3)...))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "one failing project does not fail the connection")
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Len(t, res.Projects, 3)
	assert.Equal(t, 1, res.FailedProjects)
	assert.Equal(t, ProjectCompleted, res.Projects[0].Status)
	assert.Equal(t, ProjectFailed, res.Projects[1].Status)
	assert.Equal(t, activities.ErrProjectNotFound, res.Projects[1].ErrorType)
	assert.Contains(t, res.Projects[1].Error, "not found")
	assert.Equal(t, ProjectCompleted, res.Projects[2].Status)
	assert.Equal(t, projects(3), resolvedFor, "users are resolved for every project")
	assert.Equal(t, projects(3), completed.Projects)
	assert.Equal(t, []string{projects(3)[1]}, completed.Missing, "a project found missing is dropped from the record")
	assert.Equal(t, int64(1), completed.Failed)
}

func TestConnectionSyncFailsFastOnNonRetryableErrors(t *testing.T) {
	for _, typ := range []string{activities.ErrInvalidCredentials, activities.ErrInvalidPermissions,
		activities.ErrNoResources, activities.ErrMissingCredentials} {
		t.Run(typ, func(t *testing.T) {
			env := newEnv(t)
			calls := 0
			env.OnActivity(a.VerifyConnection, mock.Anything, mock.Anything).Return(
				func(_ context.Context, _ activities.VerifyInput) (activities.VerifyReport, error) {
					calls++
					return activities.VerifyReport{}, temporal.NewNonRetryableApplicationError("nope", typ, nil)
				})
			env.ExecuteWorkflow(ConnectionSync, validInput())
			require.True(t, env.IsWorkflowCompleted())
			var app *temporal.ApplicationError
			require.True(t, errors.As(env.GetWorkflowError(), &app), "got %v", env.GetWorkflowError())
			assert.Equal(t, typ, app.Type())
			assert.Equal(t, 1, calls, "not retried")
		})
	}
}

func TestConnectionSyncRetriesTransientErrors(t *testing.T) {
	// Typed as retryable by the activities (5xx, network, database, 429 with the
	// server's delay), errors are retried until the activity succeeds.
	for _, e := range []error{
		temporal.NewApplicationError("502", activities.ErrServer),
		temporal.NewApplicationError("reset", activities.ErrTransport),
		temporal.NewApplicationError("db down", activities.ErrStore),
		temporal.NewApplicationErrorWithOptions("429", activities.ErrRateLimited,
			temporal.ApplicationErrorOptions{NextRetryDelay: 30 * time.Second}),
		// A type the activities do not list as non-retryable (e.g. ErrNoResources is
		// listed; a bad_response is retried while its attempt count is low).
		temporal.NewApplicationError("truncated", activities.ErrBadResponse),
	} {
		t.Run(e.Error(), func(t *testing.T) {
			env := newEnv(t)
			calls := 0
			mockConnectionActivities(env, &connMocks{verify: func(context.Context, activities.VerifyInput) (activities.VerifyReport, error) {
				calls++
				if calls < 3 {
					return activities.VerifyReport{}, e
				}
				return activities.VerifyReport{}, nil
			}})
			registerFakeProjects(env, &fakeProjects{})
			env.ExecuteWorkflow(ConnectionSyncName, validInput("gh/acme/a"))
			require.True(t, env.IsWorkflowCompleted())
			require.NoError(t, env.GetWorkflowError())
			assert.Equal(t, 3, calls)
		})
	}
}

func TestConnectionSyncRejectsBadInputWithoutCallingCircleCI(t *testing.T) {
	env := newEnv(t)
	called := false
	env.OnActivity(a.VerifyConnection, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.VerifyInput) (activities.VerifyReport, error) {
			called = true
			return activities.VerifyReport{}, nil
		}).Maybe()
	env.ExecuteWorkflow(ConnectionSync, ConnectionSyncInput{OrgSlug: "gh/acme", MaxConcurrentProjects: -2})
	var app *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &app))
	assert.Equal(t, activities.ErrInvalidInput, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Message(), "connection_id is required")
	assert.Contains(t, app.Message(), "max_concurrent_projects -2")
	assert.False(t, called)
}

// continuedInput decodes the input a ContinueAsNewError carries.
func continuedInput(t *testing.T, err error, out any) {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %v", err)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, out))
}

func TestConnectionSyncContinuesAsNewCarryingItsState(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	env.SetContinueAsNewSuggested(true)
	in := validInput(projects(3)...)
	in.MaxConcurrentProjects = 1
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	var next ConnectionSyncInput
	continuedInput(t, env.GetWorkflowError(), &next)
	require.NoError(t, next.Validate())
	require.NotNil(t, next.State)
	assert.Equal(t, 1, next.State.Runs)
	assert.True(t, next.State.Verified)
	assert.True(t, next.State.Discovered)
	assert.Equal(t, projects(3), next.State.Projects)
	assert.Equal(t, 1, next.State.Next, "one child started before continuing")
	assert.Empty(t, next.State.InFlight)
	assert.Empty(t, next.State.Outcomes, "the run did not wait for its child")
	require.Len(t, next.State.Carried, 1, "the running child is carried")
	c := next.State.Carried[0]
	assert.Equal(t, "gh/acme/repo-00", c.Slug)
	assert.Equal(t, ProjectWorkflowID("acme", c.Slug), c.WorkflowID)
	assert.NotEmpty(t, c.RunID)

	// The next run neither verifies nor discovers again; it counts the carried
	// child as running, waits for it, and finishes the rest.
	env2 := newEnv(t)
	env2.SetContinuedExecutionRunID("run-1")
	mockConnectionActivities(env2, &connMocks{skipPlan: true})
	f2 := &fakeProjects{}
	registerFakeProjects(env2, f2)
	var waited [][]CarriedProject
	env2.OnActivity(WaitForProjectsName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in WaitForProjectsInput) ([]EndedProject, error) {
			waited = append(waited, in.Projects)
			if len(waited) == 1 {
				return nil, nil // still running after WaitForProjectsUpTo
			}
			return []EndedProject{{ProjectSlug: c.Slug, ErrorType: activities.ErrProjectNotFound, Error: "gone"}}, nil
		}).After(WaitForProjectsUpTo)
	var running ConnectionProgress
	queryProgressAt(t, env2, &running, time.Second)
	env2.ExecuteWorkflow(ConnectionSyncName, next)
	require.True(t, env2.IsWorkflowCompleted())
	require.NoError(t, env2.GetWorkflowError())
	var res ConnectionSyncResult
	require.NoError(t, env2.GetWorkflowResult(&res))
	assert.Equal(t, projects(3)[1:], f2.started, "the carried child is not started again")
	require.Len(t, waited, 2)
	assert.Equal(t, next.State.Carried, waited[0])
	assert.Equal(t, []string{c.Slug}, running.Projects.Running, "the carried child holds the only slot")
	require.Len(t, res.Projects, 3)
	assert.Equal(t, 1, res.FailedProjects)
	assert.Equal(t, activities.ErrProjectNotFound, res.Projects[0].ErrorType)
	assert.Equal(t, 2, res.Runs)
}

// mockProjectActivities mocks ProjectSync's activities: pages pages of 20
// pipelines, recording what they were called with.
func mockProjectActivities(env *testsuite.TestWorkflowEnvironment, plan activities.ProjectPlan, pages int,
	seen *[]activities.PageInput, completed *activities.CompleteProjectInput, refreshed *activities.RefreshInput) {
	if !plan.StartedAt.IsZero() { // else StartProject must not be called
		env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(plan, nil)
	}
	env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			*seen = append(*seen, in)
			n := len(*seen)
			res := activities.PageResult{Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 20}, Pages: 1, Requests: 41},
				Newest: plan.StartedAt.Add(-time.Duration(n) * time.Hour)}
			if n < pages {
				res.NextPageToken = fmt.Sprintf("token-%d", n+1)
			} else {
				res.Done = true
			}
			return res, nil
		})
	env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RefreshInput) (activities.SyncCounts, error) {
			*refreshed = in
			return activities.SyncCounts{Entities: map[string]int64{store.KindWorkflow: 2}, Requests: 2}, nil
		})
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CompleteProjectInput) error {
			*completed = in
			return nil
		})
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func projectInput() ProjectSyncInput {
	return ProjectSyncInput{Connection: activities.Connection{ConnectionID: "acme", OrgSlug: "gh/acme",
		BaseURL: DefaultBaseURL, TokenEnv: "T"}, ProjectSlug: "gh/acme/api",
		Overlap: Duration(time.Hour), RerunWindow: Duration(72 * time.Hour)}
}

func TestProjectSyncPagesThenRefreshesThenStoresTheWatermark(t *testing.T) {
	env := newEnv(t)
	plan := activities.ProjectPlan{Incremental: true, Watermark: t0.Add(-48 * time.Hour),
		StopBefore: t0.Add(-49 * time.Hour), StartedAt: t0, Requests: 1}
	var seen []activities.PageInput
	var completed activities.CompleteProjectInput
	var refreshed activities.RefreshInput
	mockProjectActivities(env, plan, 3, &seen, &completed, &refreshed)

	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))

	require.Len(t, seen, 3)
	assert.Equal(t, []string{"", "token-2", "token-3"}, []string{seen[0].PageToken, seen[1].PageToken, seen[2].PageToken})
	for i, p := range seen {
		assert.Equal(t, i+1, p.PageNumber)
		assert.Equal(t, plan.StopBefore, p.StopBefore)
	}
	assert.Equal(t, plan.StopBefore, refreshed.SyncedSince)
	assert.Equal(t, t0.Add(-72*time.Hour), refreshed.RerunWindowStart)
	assert.Equal(t, t0.Add(-time.Hour), completed.Watermark, "the newest pipeline seen")
	assert.Equal(t, int64(3*41+2+1), completed.Counts.Requests)
	assert.Equal(t, int64(60), res.Counts.Of(store.KindPipeline))
	assert.True(t, res.Incremental)
	assert.Equal(t, 1, res.Runs)
}

func TestProjectSyncFirstSyncHasNoRerunWindowAndKeepsAnOlderWatermark(t *testing.T) {
	// A first sync that sees no pipeline keeps a zero watermark; an incremental one
	// that sees none keeps the stored one.
	for _, plan := range []activities.ProjectPlan{{StartedAt: t0}, {Incremental: true, Watermark: t0, StartedAt: t0}} {
		env := newEnv(t)
		var completed activities.CompleteProjectInput
		var refreshed activities.RefreshInput
		env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(plan, nil)
		env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(activities.PageResult{Done: true}, nil)
		env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.RefreshInput) (activities.SyncCounts, error) {
				refreshed = in
				return activities.SyncCounts{}, nil
			})
		env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.CompleteProjectInput) error { completed = in; return nil })
		env.ExecuteWorkflow(ProjectSync, projectInput())
		require.NoError(t, env.GetWorkflowError())
		assert.Equal(t, plan.Watermark, completed.Watermark)
		if !plan.Incremental {
			assert.True(t, refreshed.RerunWindowStart.IsZero(), "a first sync pages everything: no rerun window")
		}
	}
}

func TestProjectSyncContinuesAsNewCarryingTheCursor(t *testing.T) {
	env := newEnv(t)
	plan := activities.ProjectPlan{StartedAt: t0, Requests: 1}
	var seen []activities.PageInput
	var completed activities.CompleteProjectInput
	var refreshed activities.RefreshInput
	mockProjectActivities(env, plan, 3, &seen, &completed, &refreshed)
	env.SetContinueAsNewSuggested(true)
	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.True(t, env.IsWorkflowCompleted())
	var next ProjectSyncInput
	continuedInput(t, env.GetWorkflowError(), &next)
	require.Len(t, seen, 1, "one page per run at least, then continue as new")
	require.NotNil(t, next.State)
	assert.Equal(t, "token-2", next.State.PageToken)
	assert.Equal(t, 1, next.State.Pages)
	assert.True(t, next.State.Planned)
	assert.Equal(t, plan.StartedAt, next.State.Plan.StartedAt)
	assert.Equal(t, int64(41+1), next.State.Counts.Requests)
	assert.Equal(t, 1, next.State.Runs)

	// The next run does not plan again and resumes at the carried cursor.
	env2 := newEnv(t)
	env2.SetContinuedExecutionRunID("run-1")
	var seen2 []activities.PageInput
	seen2 = append(seen2, seen...) // the mock numbers pages by len(seen)
	mockProjectActivities(env2, activities.ProjectPlan{}, 3, &seen2, &completed, &refreshed)
	env2.ExecuteWorkflow(ProjectSync, next)
	require.NoError(t, env2.GetWorkflowError())
	var res ProjectSyncResult
	require.NoError(t, env2.GetWorkflowResult(&res))
	require.Len(t, seen2, 3)
	assert.Equal(t, "token-2", seen2[1].PageToken)
	assert.Equal(t, 2, seen2[1].PageNumber)
	assert.Equal(t, int64(60), res.Counts.Of(store.KindPipeline))
	assert.Equal(t, int64(3*41+1+2), res.Counts.Requests)
	assert.Equal(t, 2, res.Runs)
}

func TestProjectSyncFailsOnANonRetryableActivityError(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(activities.ProjectPlan{},
		temporal.NewNonRetryableApplicationError("project gh/acme/api not found", activities.ErrProjectNotFound, nil))
	env.ExecuteWorkflow(ProjectSync, projectInput())
	var app *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &app))
	assert.Equal(t, activities.ErrProjectNotFound, app.Type())
	typ, msg := describeFailure(env.GetWorkflowError())
	assert.Equal(t, activities.ErrProjectNotFound, typ)
	assert.Contains(t, msg, "not found")
}

func TestProjectSyncRetriesARateLimitedPage(t *testing.T) {
	env := newEnv(t)
	plan := activities.ProjectPlan{StartedAt: t0}
	env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(plan, nil)
	var attempts []time.Time
	env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ activities.PageInput) (activities.PageResult, error) {
			attempts = append(attempts, env.Now())
			if len(attempts) == 1 {
				return activities.PageResult{}, temporal.NewApplicationErrorWithOptions("429", activities.ErrRateLimited,
					temporal.ApplicationErrorOptions{NextRetryDelay: 42 * time.Second})
			}
			return activities.PageResult{Done: true}, nil
		})
	env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(activities.SyncCounts{}, nil)
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, attempts, 2)
	assert.GreaterOrEqual(t, attempts[1].Sub(attempts[0]), 42*time.Second, "retried after the server's delay")
}

func TestProjectSyncRejectsAnEmptyInput(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(ProjectSync, ProjectSyncInput{})
	var app *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &app))
	assert.Equal(t, activities.ErrInvalidInput, app.Type())
}

func TestProgressQueryReportsThePhase(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	var during ConnectionProgress
	queryProgressAt(t, env, &during, 30*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(3)...))
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, PhaseProjects, during.Phase)
	assert.Equal(t, 1, during.Cycle)
	assert.Equal(t, 3, during.Projects.Total)
	assert.Equal(t, projects(3)[:2], during.Projects.Running)
	assert.Zero(t, during.Projects.Completed)
	assert.Equal(t, int64(6), during.Totals.Requests, "verification's and discovery's requests")
}

func TestProjectSyncRestartsPagingOnAStalePageToken(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(activities.ProjectPlan{StartedAt: t0}, nil)
	var tokens []string
	env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			tokens = append(tokens, in.PageToken)
			switch {
			case in.PageToken == "" && len(tokens) == 1:
				return activities.PageResult{NextPageToken: "t2", Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 20}, Pages: 1}}, nil
			case in.PageToken == "t2" && len(tokens) == 2:
				return activities.PageResult{}, temporal.NewNonRetryableApplicationError("stale", activities.ErrStalePageToken, nil)
			case in.PageToken == "":
				return activities.PageResult{NextPageToken: "t2b", Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 20}, Pages: 1}}, nil
			default:
				return activities.PageResult{Done: true, Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 5}, Pages: 1}}, nil
			}
		})
	env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(activities.SyncCounts{}, nil)
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	assert.Equal(t, []string{"", "t2", "", "t2b"}, tokens, "paging restarts from the first page")
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, int64(45), res.Counts.Of(store.KindPipeline))
}

func TestProjectSyncGivesUpAfterRepeatedStalePageTokens(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(activities.ProjectPlan{StartedAt: t0}, nil)
	calls := 0
	env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			calls++
			if in.PageToken == "" {
				return activities.PageResult{NextPageToken: "t2"}, nil
			}
			return activities.PageResult{}, temporal.NewNonRetryableApplicationError("stale", activities.ErrStalePageToken, nil)
		})
	env.ExecuteWorkflow(ProjectSync, projectInput())
	var app *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &app))
	assert.Equal(t, activities.ErrStalePageToken, app.Type())
	assert.Equal(t, 2*(MaxPagingRestarts+1), calls)
}

// blockThenSync starts a child holding the workflow ID of the first project's
// ProjectSync (it finishes after hold), then ConnectionSync as a child.
func blockThenSync(ctx workflow.Context, in ConnectionSyncInput, hold time.Duration) (ConnectionSyncResult, error) {
	blocker := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: ProjectWorkflowID(in.ConnectionID, in.Projects[0]),
	}), "Blocker", hold)
	if err := blocker.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return ConnectionSyncResult{}, err
	}
	var res ConnectionSyncResult
	err := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: ConnectionWorkflowID(in.ConnectionID),
	}), ConnectionSyncName, in).Get(ctx, &res)
	return res, err
}

func TestConnectionSyncRetriesAProjectWhoseWorkflowIDIsTaken(t *testing.T) {
	for _, c := range []struct {
		name   string
		hold   time.Duration
		status string
	}{
		{"freed after two retries", 2*ChildIDTakenRetryDelay + ChildIDTakenRetryDelay/2, ProjectCompleted},
		{"never freed: the cycle takes that sync's outcome", time.Hour, ProjectFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t)
			mockConnectionActivities(env, &connMocks{})
			f := &fakeProjects{}
			registerFakeProjects(env, f)
			var waited []CarriedProject
			env.OnActivity(WaitForProjectsName, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in WaitForProjectsInput) ([]EndedProject, error) {
					waited = append(waited, in.Projects...)
					return []EndedProject{{ProjectSlug: in.Projects[0].Slug, ErrorType: "server_error", Error: "it failed"}}, nil
				}).After(WaitForProjectsUpTo)
			env.RegisterWorkflowWithOptions(func(ctx workflow.Context, d time.Duration) error {
				return workflow.Sleep(ctx, d)
			}, workflow.RegisterOptions{Name: "Blocker"})
			env.RegisterWorkflow(blockThenSync)
			env.ExecuteWorkflow(blockThenSync, validInput(projects(2)...), c.hold)
			require.NoError(t, env.GetWorkflowError())
			var res ConnectionSyncResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Len(t, res.Projects, 2)
			assert.Equal(t, c.status, res.Projects[0].Status)
			assert.Equal(t, ProjectCompleted, res.Projects[1].Status)
			if c.status == ProjectFailed {
				assert.Equal(t, "server_error", res.Projects[0].ErrorType, "the outcome of the sync that held the ID")
				assert.NotContains(t, f.started, projects(2)[0])
				assert.Equal(t, []CarriedProject{{Slug: projects(2)[0], WorkflowID: ProjectWorkflowID("acme", projects(2)[0])}},
					waited, "the cycle waited for that sync, whichever its run")
			} else {
				assert.Contains(t, f.started, projects(2)[0])
				assert.Empty(t, waited)
			}
		})
	}
}

// TestCanceledConnectionCancelsItsCarriedProjects: a child carried from an
// earlier run is not canceled with the run's context; the run asks it to stop.
func TestCanceledConnectionCancelsItsCarriedProjects(t *testing.T) {
	env := newEnv(t)
	env.SetContinuedExecutionRunID("run-1")
	mockConnectionActivities(env, &connMocks{skipPlan: true})
	registerFakeProjects(env, &fakeProjects{})
	env.OnActivity(WaitForProjectsName, mock.Anything, mock.Anything).Return([]EndedProject(nil), nil).After(WaitForProjectsUpTo)
	carried := CarriedProject{Slug: "gh/acme/repo-00", WorkflowID: ProjectWorkflowID("acme", "gh/acme/repo-00"), RunID: "child-1"}
	canceled := 0
	env.OnRequestCancelExternalWorkflow(mock.Anything, carried.WorkflowID, "").Return(nil).Run(func(mock.Arguments) { canceled++ })
	in := validInput(projects(1)...)
	in.MaxConcurrentProjects = 1
	in.State = &ConnectionSyncState{Phase: PhaseProjects, Cycle: 1, Begun: true, Verified: true, Discovered: true,
		Total: 1, Projects: projects(1), Next: 1, SearchAttributes: []string{}, Carried: []CarriedProject{carried}}
	env.RegisterDelayedCallback(env.CancelWorkflow, 90*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	var canceledErr *temporal.CanceledError
	require.ErrorAs(t, env.GetWorkflowError(), &canceledErr)
	assert.Equal(t, 1, canceled, "the carried child is asked to stop")
}

// TestRunWithOnlyCarriedChildrenWaitsForOne: a run whose slots are all held by
// carried children, with continue-as-new suggested from its start, does not
// continue as new before one of them has ended (runs would otherwise follow
// each other without progress); then it starts the next project and carries it.
func TestRunWithOnlyCarriedChildrenWaitsForOne(t *testing.T) {
	env := newEnv(t)
	env.SetContinuedExecutionRunID("run-1")
	env.SetContinueAsNewSuggested(true)
	mockConnectionActivities(env, &connMocks{skipPlan: true})
	registerFakeProjects(env, &fakeProjects{})
	slugs := projects(2)
	waits := 0
	env.OnActivity(WaitForProjectsName, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in WaitForProjectsInput) ([]EndedProject, error) {
			if waits++; waits == 1 {
				return nil, nil
			}
			return []EndedProject{{ProjectSlug: slugs[0], Result: ProjectSyncResult{ProjectSlug: slugs[0], Runs: 1}}}, nil
		}).After(WaitForProjectsUpTo)
	in := validInput(slugs...)
	in.MaxConcurrentProjects = 1
	in.State = &ConnectionSyncState{Phase: PhaseProjects, Cycle: 1, Begun: true, Verified: true, Discovered: true,
		Total: 2, Projects: slugs, Next: 1, SearchAttributes: []string{},
		Carried: []CarriedProject{{Slug: slugs[0], WorkflowID: ProjectWorkflowID("acme", slugs[0]), RunID: "child-1"}}}
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, 2, waits, "the run waited until its carried child ended")
	assert.Equal(t, 1, next.State.Completed)
	assert.Equal(t, 2, next.State.Next)
	require.Len(t, next.State.Carried, 1)
	assert.Equal(t, slugs[1], next.State.Carried[0].Slug, "the project it started goes on in the next run")
}

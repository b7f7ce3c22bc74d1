package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// nextRun decodes the input a ContinueAsNewError carries to the next run.
func nextRun(t *testing.T, err error) ConnectionSyncInput {
	t.Helper()
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(err, &can), "want continue-as-new, got %v", err)
	require.Equal(t, ConnectionSyncName, can.WorkflowType.Name)
	var next ConnectionSyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	require.NoError(t, next.Validate(), "the carried input is valid")
	return next
}

// resyncs collects the answers and refusals of resync Updates.
type resyncs struct {
	answers map[string]ResyncResponse
	refused map[string]error
}

// send sends the resync Update id with req; its answer or refusal arrives in r.
func (r *resyncs) send(env *testsuite.TestWorkflowEnvironment, id string, req ResyncRequest) {
	if r.answers == nil {
		r.answers, r.refused = map[string]ResyncResponse{}, map[string]error{}
	}
	env.UpdateWorkflow(ResyncUpdate, id, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { r.refused[id] = err },
		OnComplete: func(v any, err error) {
			if err != nil {
				r.refused[id] = err
				return
			}
			r.answers[id] = v.(ResyncResponse)
		},
	}, req)
}

// TestResyncDuringACycleCoalescesIntoOneFollowUp: requests that come during a
// cycle (two Updates and a signal) are answered "the next cycle" and run as ONE
// follow-up cycle, in a new run that carries them; a request whose reason is too
// long is refused by the validator.
func TestResyncDuringACycleCoalescesIntoOneFollowUp(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	var r resyncs
	env.RegisterDelayedCallback(func() {
		r.send(env, "u1", ResyncRequest{Reason: "deploy u1"})
		r.send(env, "u2", ResyncRequest{Reason: "deploy u2"})
		r.send(env, "u3", ResyncRequest{Reason: strings.Repeat("x", MaxResyncReason+1)})
	}, 20*time.Second) // the projects are running
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ResyncSignal, ResyncRequest{Reason: "signal"})
	}, 40*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(2)...))
	require.True(t, env.IsWorkflowCompleted())
	next := nextRun(t, env.GetWorkflowError())

	require.Len(t, r.answers, 2, "refused: %v", r.refused)
	assert.Equal(t, ResyncResponse{Cycle: 2, Status: ResyncQueued, RunningCycle: 1, Pending: 1}, r.answers["u1"])
	assert.Equal(t, ResyncResponse{Cycle: 2, Status: ResyncCoalesced, RunningCycle: 1, Pending: 2}, r.answers["u2"])
	refused := r.refused["u3"]
	var app *temporal.ApplicationError
	require.True(t, errors.As(refused, &app), "refused with %v", refused)
	assert.Equal(t, activities.ErrInvalidInput, app.Type())

	st := next.State
	require.NotNil(t, st)
	assert.Equal(t, 2, st.Cycle)
	assert.Equal(t, 3, st.Included, "the next cycle includes both Updates and the signal")
	assert.Zero(t, st.ResyncPending)
	assert.False(t, st.Verified, "a new cycle verifies (when due) and discovers again")
	assert.Empty(t, st.Outcomes)
	require.NotNil(t, st.Previous)
	assert.Equal(t, 1, st.Previous.Cycle)
	assert.Equal(t, int64(20), st.Previous.Totals.Of(store.KindPipeline))
	assert.Equal(t, "signal", st.LastResyncReason)
	assert.Equal(t, "acme", next.ConnectionID)
}

// TestResyncBeforeTheCycleBegins: a request that reaches a sync before its first
// activity (an Update-with-Start, say) is included in the current cycle: no
// follow-up cycle runs.
func TestResyncBeforeTheCycleBegins(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	var r resyncs
	env.RegisterDelayedCallback(func() { r.send(env, "u1", ResyncRequest{Reason: "first"}) }, 0)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(1)...))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "no follow-up cycle")
	assert.Equal(t, ResyncResponse{Cycle: 1, Status: ResyncIncluded, RunningCycle: 1, Pending: 1}, r.answers["u1"])
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 1, res.Cycle)
}

// TestContinuousSyncWaitsThenRunsTheNextCycle: a continuous sync waits its
// interval after a cycle, then continues as new into the next cycle.
func TestContinuousSyncWaitsThenRunsTheNextCycle(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	in := validInput(projects(1)...)
	in.Continuous = true
	iv := Duration(2 * time.Hour)
	in.Interval = &iv
	var waiting ConnectionProgress
	queryProgressAt(t, env, &waiting, time.Hour)
	start := env.Now()
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, 2, next.State.Cycle)
	assert.Zero(t, next.State.Included)
	assert.True(t, next.Continuous)
	assert.GreaterOrEqual(t, env.Now().Sub(start), 2*time.Hour, "it waited the interval")
	assert.Equal(t, PhaseWaiting, waiting.Phase)
	assert.True(t, waiting.Continuous)
	assert.Equal(t, 1, waiting.Projects.Completed)
	require.NotNil(t, waiting.Previous)
	assert.False(t, waiting.NextCycleAt.IsZero())
}

// TestContinuousSyncStartsAtOnceOnARequest: a request while a continuous sync
// waits starts the next cycle at once, and is included in it.
func TestContinuousSyncStartsAtOnceOnARequest(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	in := validInput(projects(1)...)
	in.Continuous = true
	var r resyncs
	env.RegisterDelayedCallback(func() { r.send(env, "u1", ResyncRequest{}) }, 10*time.Minute) // the cycle took ~1 minute; the interval is an hour
	start := env.Now()
	env.ExecuteWorkflow(ConnectionSyncName, in)
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, ResyncResponse{Cycle: 2, Status: ResyncIncluded, Pending: 1}, r.answers["u1"])
	assert.Equal(t, 2, next.State.Cycle)
	assert.Equal(t, 1, next.State.Included)
	assert.Less(t, env.Now().Sub(start), DefaultInterval, "it did not wait the interval")
}

// TestSearchAttributesOnlyThoseRegistered: the workflows set the search
// attributes the worker says exist, and none other; a run passes what it knows
// to its children.
func TestSearchAttributesOnlyThoseRegistered(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	var childSAs [][]string
	env.RegisterWorkflowWithOptions(ConnectionSync, workflow.RegisterOptions{Name: ConnectionSyncName})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in ProjectSyncInput) (ProjectSyncResult, error) {
		childSAs = append(childSAs, in.SearchAttributes)
		return ProjectSyncResult{ProjectSlug: in.ProjectSlug}, nil
	}, workflow.RegisterOptions{Name: ProjectSyncName})
	env.OnActivity(a.RegisteredSearchAttributes, mock.Anything).Return(
		[]string{SearchAttrConnection.GetName(), SearchAttrPhase.GetName()}, nil)
	var upserted []string
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		for k := range args.Get(0).(temporal.SearchAttributes).GetUntypedValues() {
			upserted = append(upserted, k.GetName())
		}
	}).Return(nil)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(2)...))
	require.NoError(t, env.GetWorkflowError())
	require.NotEmpty(t, upserted)
	for _, name := range upserted {
		assert.Contains(t, []string{SearchAttrConnection.GetName(), SearchAttrPhase.GetName()}, name)
	}
	assert.Contains(t, upserted, SearchAttrConnection.GetName())
	require.Len(t, childSAs, 2)
	for _, s := range childSAs {
		assert.Equal(t, []string{SearchAttrConnection.GetName(), SearchAttrPhase.GetName()}, s)
	}
}

// TestSearchAttributesLookupFailureSetsNone: a worker that cannot tell leaves the
// attributes alone, and the sync goes on.
func TestSearchAttributesLookupFailureSetsNone(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	env.OnActivity(a.RegisteredSearchAttributes, mock.Anything).Return(nil, errors.New("no operator API"))
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) {
		t.Error("no search attribute may be upserted")
	}).Return(nil).Maybe()
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(1)...))
	require.NoError(t, env.GetWorkflowError())
}

// TestProjectSyncPagesSeveralPagesPerActivity: the page activity is asked for
// PagesPerActivity pages, incremental when the plan is, and its figures and the
// earlier attempt's error reach the progress and the result.
func TestProjectSyncPagesSeveralPagesPerActivity(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartProject, mock.Anything, mock.Anything).Return(
		activities.ProjectPlan{Incremental: true, StartedAt: t0, Watermark: t0.Add(-time.Hour)}, nil)
	var inputs []activities.PageInput
	env.OnActivity(a.SyncPipelinePage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			inputs = append(inputs, in)
			if len(inputs) == 1 {
				return activities.PageResult{NextPageToken: "p11", Attempt: 2, LastError: "rate_limited: 429", Lowest: 801,
					Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 200}, Pages: 10, RateLimited: 1, Skipped: 1, SkippedBy: activities.SkipCounts{Expired: 1}}}, nil
			}
			return activities.PageResult{Done: true, Counts: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 3}, Pages: 1}}, nil
		})
	env.OnActivity(a.RefreshProject, mock.Anything, mock.Anything).Return(activities.SyncCounts{}, nil)
	env.OnActivity(a.CompleteProject, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(ProjectSync, projectInput())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, inputs, 2)
	assert.Equal(t, PagesPerActivity, inputs[0].MaxPages)
	assert.True(t, inputs[0].Incremental)
	assert.Equal(t, 1, inputs[0].PageNumber)
	assert.Equal(t, "p11", inputs[1].PageToken)
	assert.Equal(t, 11, inputs[1].PageNumber, "the second activity starts at page 11")
	assert.Zero(t, inputs[0].Below)
	assert.EqualValues(t, 801, inputs[1].Below, "the pages before reached pipeline 801")
	var res ProjectSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.EqualValues(t, 203, res.Counts.Of(store.KindPipeline))
	assert.EqualValues(t, 11, res.Counts.Pages)
	assert.EqualValues(t, 1, res.Counts.SkippedBy.Expired)
	require.NotNil(t, res.LastError)
	assert.Equal(t, "rate_limited: 429", res.LastError.Error)
	assert.Contains(t, res.LastError.Where, "attempt 2")

	var p ProjectProgress
	queryProgress(t, env, &p)
	assert.Equal(t, PhaseDone, p.Phase)
	assert.EqualValues(t, 203, p.Counts.Of(store.KindPipeline))
	assert.True(t, p.Incremental)
}

func TestInputContinuousAndInterval(t *testing.T) {
	iv := Duration(30 * time.Second)
	in := validInput()
	in.Interval = &iv
	err := in.Validate()
	require.ErrorContains(t, err, "applies to continuous syncs only")
	in.Continuous = true
	require.ErrorContains(t, in.Validate(), "want at least 1m0s")
	iv = Duration(time.Hour)
	require.NoError(t, in.Validate())
	in.Interval = nil
	require.Equal(t, DefaultInterval, in.withDefaults().Interval.D())
}

// TestResyncSignalWithTheCycleEnd: a signal delivered in the workflow task that
// ends the cycle (with the last activity's completion) is not lost: it starts
// the follow-up cycle.
func TestResyncSignalWithTheCycleEnd(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{onComplete: func() {
		env.SignalWorkflowSkippingWorkflowTask(ResyncSignal, ResyncRequest{Reason: "late"})
	}})
	registerFakeProjects(env, &fakeProjects{})
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(1)...))
	require.True(t, env.IsWorkflowCompleted())
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, 2, next.State.Cycle)
	assert.Equal(t, 1, next.State.Included)
	assert.Equal(t, "late", next.State.LastResyncReason)
}

// TestResyncSignalsCarriedAcrossAMidCycleContinueAsNew: signals that come while
// the history is long enough to continue as new within a cycle go with the
// cycle's next run, still pending for the follow-up cycle.
func TestResyncSignalsCarriedAcrossAMidCycleContinueAsNew(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ResyncSignal, ResyncRequest{Reason: "one"})
		env.SignalWorkflowSkippingWorkflowTask(ResyncSignal, ResyncRequest{Reason: "two"})
	}, 30*time.Second) // the first child runs
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 31*time.Second)
	in := validInput(projects(3)...)
	in.MaxConcurrentProjects = 1
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, 1, next.State.Cycle, "the same cycle goes on")
	assert.Equal(t, 2, next.State.ResyncPending, "both signals wait for the follow-up cycle")
	assert.Equal(t, 1, next.State.Next, "one project was started before continuing as new")
}

// TestContinuousSyncGoesOnAfterAFailedCycle: a continuous sync whose cycle fails
// records why and runs the next cycle after its interval.
func TestContinuousSyncGoesOnAfterAFailedCycle(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{verify: func(context.Context, activities.VerifyInput) (activities.VerifyReport, error) {
		return activities.VerifyReport{}, temporal.NewNonRetryableApplicationError("revoked", activities.ErrInvalidCredentials, nil)
	}})
	registerFakeProjects(env, &fakeProjects{})
	in := validInput(projects(1)...)
	in.Continuous = true
	start := env.Now()
	env.ExecuteWorkflow(ConnectionSyncName, in)
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, 2, next.State.Cycle)
	require.NotNil(t, next.State.Previous)
	assert.Contains(t, next.State.Previous.Error, activities.ErrInvalidCredentials)
	assert.GreaterOrEqual(t, env.Now().Sub(start), DefaultInterval, "it waited the interval")
}

// TestFailedCycleServesTheQueuedResyncs: a one-cycle sync that fails with
// re-syncs queued runs the follow-up cycle they were promised.
func TestFailedCycleServesTheQueuedResyncs(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{resolve: func(context.Context, activities.ResolveUsersInput) (activities.ResolveUsersResult, error) {
		return activities.ResolveUsersResult{}, temporal.NewNonRetryableApplicationError("broken", activities.ErrBadResponse, nil)
	}})
	registerFakeProjects(env, &fakeProjects{})
	var r resyncs
	env.RegisterDelayedCallback(func() { r.send(env, "u1", ResyncRequest{}) }, 30*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(1)...))
	next := nextRun(t, env.GetWorkflowError())
	assert.Equal(t, ResyncQueued, r.answers["u1"].Status)
	assert.Equal(t, 2, next.State.Cycle)
	assert.Equal(t, 1, next.State.Included)
	assert.Contains(t, next.State.Previous.Error, activities.ErrBadResponse)
}

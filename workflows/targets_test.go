package workflows

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// targetCalls records the SyncPipelines batches and the users resolved.
type targetCalls struct {
	mu      sync.Mutex
	batches [][]activities.PipelineTarget
	users   [][]string
	// during is set while a batch runs, to test for overlap with a cycle.
	hook func()
}

// mock mocks SyncPipelines and ResolveUsers; each batch takes a second.
func (c *targetCalls) mock(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(a.SyncPipelines, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PipelinesInput) (activities.SyncCounts, error) {
			c.mu.Lock()
			c.batches = append(c.batches, in.Targets)
			hook := c.hook
			c.mu.Unlock()
			if hook != nil {
				hook()
			}
			return activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: int64(len(in.Targets))}}, nil
		}).Maybe()
	env.OnActivity(a.ResolveUsers, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ResolveUsersInput) (activities.ResolveUsersResult, error) {
			c.mu.Lock()
			c.users = append(c.users, in.Projects)
			c.mu.Unlock()
			return activities.ResolveUsersResult{}, nil
		}).Maybe()
}

// targetAnswers collects the answers and refusals of targets Updates.
type targetAnswers struct {
	answers map[string]TargetResult
	refused map[string]error
}

// send sends req as the targets Update of its event.
func (r *targetAnswers) send(env *testsuite.TestWorkflowEnvironment, updateID string, req TargetRequest) {
	if r.answers == nil {
		r.answers, r.refused = map[string]TargetResult{}, map[string]error{}
	}
	env.UpdateWorkflow(TargetsUpdate, updateID, &testsuite.TestUpdateCallback{
		OnReject: func(err error) { r.refused[updateID] = err },
		OnComplete: func(v any, err error) {
			if err != nil {
				r.refused[updateID] = err
				return
			}
			r.answers[updateID] = v.(TargetResult)
		},
	}, req)
}

// uuid returns a UUID made of n.
func uuid(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

// target is the request of event id on pipeline p, workflow w.
func target(id string, p, w int) TargetRequest {
	return TargetRequest{EventID: id, Type: "workflow-completed", ProjectSlug: "gh/acme/api", PipelineID: uuid(p),
		WorkflowID: uuid(1000 + w)}
}

func targetsOnlyInput() ConnectionSyncInput {
	in := validInput()
	in.TargetsOnly = true
	return in
}

// TestTargetsBatchedIntoOneActivity: a targets-only run batches a burst into
// one SyncPipelines (a pipeline once, its workflows merged), answers replays
// duplicate, resolves the users, runs no cycle and completes when idle.
func TestTargetsBatchedIntoOneActivity(t *testing.T) {
	env := newEnv(t)
	calls := &targetCalls{}
	calls.mock(env) // no cycle activity is mocked: calling one fails the test
	var r targetAnswers
	env.RegisterDelayedCallback(func() {
		r.send(env, "e1", target("e1", 1, 1))
		r.send(env, "e1", target("e1", 1, 1))       // a retry: the same Update
		r.send(env, "e1-again", target("e1", 1, 1)) // a replay under another Update ID
		r.send(env, "e2", target("e2", 1, 1))       // the same workflow again
		r.send(env, "e3", target("e3", 1, 2))       // another workflow of the pipeline
		r.send(env, "e4", target("e4", 2, 3))
	}, time.Second)
	env.ExecuteWorkflow(ConnectionSync, targetsOnlyInput())
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, calls.batches, 1)
	assert.Equal(t, []activities.PipelineTarget{
		{ProjectSlug: "gh/acme/api", PipelineID: uuid(1), WorkflowIDs: []string{uuid(1001), uuid(1002)}},
		{ProjectSlug: "gh/acme/api", PipelineID: uuid(2), WorkflowIDs: []string{uuid(1003)}},
	}, calls.batches[0])
	assert.Equal(t, [][]string{{"gh/acme/api"}}, calls.users)
	assert.Empty(t, r.refused)
	assert.Equal(t, TargetQueued, r.answers["e1"].Status)
	assert.Equal(t, TargetDuplicate, r.answers["e1-again"].Status)
	assert.Equal(t, TargetDuplicate, r.answers["e2"].Status)
	assert.Equal(t, TargetQueued, r.answers["e3"].Status)
	assert.Equal(t, 2, r.answers["e4"].Pending)
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, int64(2), res.TargetCounts.Of(store.KindPipeline))
	assert.Zero(t, res.Cycle, "no cycle ran")
}

// TestTargetsBurstMakesBatchesOf100: 150 pipelines make two batches, 100 and 50.
func TestTargetsBurstMakesBatchesOf100(t *testing.T) {
	env := newEnv(t)
	calls := &targetCalls{}
	calls.mock(env)
	var r targetAnswers
	env.RegisterDelayedCallback(func() {
		for i := range 150 {
			id := fmt.Sprintf("e%d", i)
			r.send(env, id, target(id, i, i))
		}
	}, time.Second)
	env.ExecuteWorkflow(ConnectionSync, targetsOnlyInput())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, calls.batches, 2)
	assert.Len(t, calls.batches[0], 100)
	assert.Len(t, calls.batches[1], 50)
	assert.Len(t, r.answers, 150)
}

// TestTargetsRefused: an event of another org, of a project not listed, or
// with bad ids is refused by the validator; nothing is synced.
func TestTargetsRefused(t *testing.T) {
	env := newEnv(t)
	calls := &targetCalls{}
	calls.mock(env)
	var r targetAnswers
	in := targetsOnlyInput()
	in.Projects = []string{"gh/acme/api", "gh/acme/web"}
	bad := map[string]TargetRequest{
		"other-org":     {EventID: "a", Type: "job-completed", ProjectSlug: "gh/evil/api", PipelineID: uuid(1)},
		"not-listed":    {EventID: "b", Type: "job-completed", ProjectSlug: "gh/acme/ops", PipelineID: uuid(1)},
		"bad-pipeline":  {EventID: "c", Type: "job-completed", ProjectSlug: "gh/acme/api", PipelineID: "1"},
		"bad-workflow":  {EventID: "d", Type: "job-completed", ProjectSlug: "gh/acme/api", PipelineID: uuid(1), WorkflowID: "x"},
		"bad-event-id":  {EventID: "e/../f", Type: "job-completed", ProjectSlug: "gh/acme/api", PipelineID: uuid(1)},
		"bad-type":      {EventID: "g", Type: "ping", ProjectSlug: "gh/acme/api", PipelineID: uuid(1)},
		"too-large":     {EventID: "h", Type: "job-completed", ProjectSlug: "gh/acme/" + string(make([]byte, 5000)), PipelineID: uuid(1)},
		"long-form-org": {EventID: "i", Type: "job-completed", ProjectSlug: "github/evil/api", PipelineID: uuid(1)},
	}
	env.RegisterDelayedCallback(func() {
		for name, req := range bad {
			r.send(env, name, req)
		}
		r.send(env, "good", TargetRequest{EventID: "j", Type: "job-completed", ProjectSlug: "GitHub/Acme/Web", PipelineID: uuid(1)})
	}, time.Second)
	env.ExecuteWorkflow(ConnectionSync, in)
	require.NoError(t, env.GetWorkflowError())
	assert.Len(t, r.refused, len(bad))
	for name := range bad {
		assert.ErrorContains(t, r.refused[name], "invalid target", name)
	}
	require.Len(t, calls.batches, 1)
	assert.Equal(t, []activities.PipelineTarget{{ProjectSlug: "gh/Acme/Web", PipelineID: uuid(1)}}, calls.batches[0])
}

// TestTargetsDuringACycle: a target that comes while the cycle's projects run
// is synced at once, not after the cycle; the one-off run then completes.
func TestTargetsDuringACycle(t *testing.T) {
	env := newEnv(t)
	cycleDone := false
	mockConnectionActivities(env, &connMocks{onComplete: func() { cycleDone = true }})
	registerFakeProjects(env, &fakeProjects{})
	calls := &targetCalls{}
	calls.mock(env)
	var syncedDuringCycle []bool
	calls.hook = func() { syncedDuringCycle = append(syncedDuringCycle, !cycleDone) }
	var r targetAnswers
	req := target("e1", 1, 1)
	req.ProjectSlug = projects(2)[1]
	env.RegisterDelayedCallback(func() { r.send(env, "e1", req) }, 10*time.Second)
	env.ExecuteWorkflow(ConnectionSyncName, validInput(projects(2)...))
	require.NoError(t, env.GetWorkflowError())
	assert.Empty(t, r.refused)
	assert.Equal(t, []bool{true}, syncedDuringCycle, "synced alongside the cycle")
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, int64(1), res.TargetCounts.Of(store.KindPipeline))
	assert.Equal(t, int64(20), res.Totals.Of(store.KindPipeline), "the cycle's figures are its own")
}

// TestTargetsCarriedAcrossContinueAsNew: the queued targets and the recent
// event ids go to the next run, which answers a replay duplicate.
func TestTargetsCarriedAcrossContinueAsNew(t *testing.T) {
	env := newEnv(t)
	calls := &targetCalls{}
	calls.mock(env)
	var r targetAnswers
	env.RegisterDelayedCallback(func() {
		for i := range 5 {
			id := fmt.Sprintf("e%d", i)
			r.send(env, id, target(id, i%3, i))
		}
	}, time.Second)
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, time.Second+100*time.Millisecond)
	env.ExecuteWorkflow(ConnectionSync, targetsOnlyInput())
	next := nextRun(t, env.GetWorkflowError())
	st := next.State
	require.NotNil(t, st)
	assert.True(t, next.TargetsOnly)
	assert.Empty(t, calls.batches, "the run continues as new before its first batch closes")
	assert.Len(t, st.Targets, 3)
	assert.Equal(t, []string{"e0", "e1", "e2", "e3", "e4"}, st.RecentEvents)
	run := &connectionRun{in: next, st: st}
	assert.Equal(t, TargetDuplicate, run.queueTarget(target("e3", 0, 3)).Status, "a replay in the next run")
}

// TestTargetsStateIsBounded: the queue refuses pipelines past its bound (the
// receiver answers 503, CircleCI retries) and the event ids kept are the last.
func TestTargetsStateIsBounded(t *testing.T) {
	in := targetsOnlyInput().withDefaults()
	run := &connectionRun{in: in, st: &ConnectionSyncState{}}
	refused := 0
	for i := range 1500 {
		req := target(fmt.Sprintf("e%d", i), i%1200, i)
		if err := run.checkTarget(req); err != nil {
			assert.ErrorContains(t, err, "queued: try again later")
			refused++
			continue
		}
		run.queueTarget(req)
	}
	st := run.st
	assert.Len(t, st.Targets, MaxPendingTargets)
	assert.Equal(t, 200, refused, "pipelines 1000 to 1199 (their second events merge into queued ones)")
	assert.Len(t, st.RecentEvents, MaxRecentEvents)
	assert.Equal(t, "e1499", st.RecentEvents[len(st.RecentEvents)-1])
	in.State = st
	assert.NoError(t, in.Validate(), "the carried state passes the input's bounds")
	st.RecentEvents = append(st.RecentEvents, "one-more")
	assert.Error(t, in.Validate())
}

// TestTargetsOnlyResyncRunsACycle: a resync request to a targets-only run
// continues as new into a normal cycle that includes it, carrying the queue.
func TestTargetsOnlyResyncRunsACycle(t *testing.T) {
	env := newEnv(t)
	calls := &targetCalls{}
	calls.mock(env)
	var r targetAnswers
	var rs resyncs
	env.RegisterDelayedCallback(func() {
		r.send(env, "e1", target("e1", 1, 1))
		rs.send(env, "u1", ResyncRequest{Reason: "by hand"})
	}, time.Second)
	env.ExecuteWorkflow(ConnectionSync, targetsOnlyInput())
	next := nextRun(t, env.GetWorkflowError())
	assert.False(t, next.TargetsOnly, "the next run runs a cycle")
	require.NotNil(t, next.State)
	assert.Equal(t, PhaseVerify, next.State.Phase)
	assert.Equal(t, 1, next.State.Included, "the cycle includes the request")
	assert.Equal(t, ResyncIncluded, rs.answers["u1"].Status)
	assert.Len(t, next.State.Targets, 1, "the queued target is carried")
	assert.Empty(t, calls.batches)
}

// TestTargetsFailedBatchRequeuedOnce: a failed batch runs once more, then is
// dropped; an invalid one is dropped at once. The run still completes.
func TestTargetsFailedBatchRequeuedOnce(t *testing.T) {
	for typ, want := range map[string]int{activities.ErrInvalidCredentials: 2, activities.ErrInvalidInput: 1} {
		t.Run(typ, func(t *testing.T) {
			env := newEnv(t)
			calls := 0
			env.OnActivity(a.SyncPipelines, mock.Anything, mock.Anything).Return(
				func(context.Context, activities.PipelinesInput) (activities.SyncCounts, error) {
					calls++
					return activities.SyncCounts{}, temporal.NewNonRetryableApplicationError("nope", typ, nil)
				})
			var r targetAnswers
			env.RegisterDelayedCallback(func() { r.send(env, "e1", target("e1", 1, 1)) }, time.Second)
			env.ExecuteWorkflow(ConnectionSync, targetsOnlyInput())
			require.NoError(t, env.GetWorkflowError())
			assert.Equal(t, want, calls)
		})
	}
}

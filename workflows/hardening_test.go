package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// printableASCII tells whether s holds only bytes a gRPC header takes.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func TestProjectWorkflowIDIsEscaped(t *testing.T) {
	for slug, want := range map[string]string{
		"gh/acme/api":           "circleci-sync/c/gh/acme/api",
		"gh/acme/café":          "circleci-sync/c/gh/acme/caf%C3%A9",
		"gh/acme/100% coverage": "circleci-sync/c/gh/acme/100%25%20coverage",
		"gh/acme/ap\x00i":       "circleci-sync/c/gh/acme/ap%00i",
		" gh/acme/api ":         "circleci-sync/c/%20gh/acme/api%20",
	} {
		assert.Equal(t, want, ProjectWorkflowID("c", slug), "slug %q", slug)
	}
	// Unambiguous: slugs that differ give IDs that differ.
	assert.NotEqual(t, ProjectWorkflowID("c", "gh/a/b%C3%A9"), ProjectWorkflowID("c", "gh/a/bé"))
	assert.NotEqual(t, ProjectWorkflowID("c", "gh/a/b"), ProjectWorkflowID("c", "gh/a/b "))
}

// TestOddSlugsGetPrintableChildIDsAndExactInput: a child's ID is printable
// ASCII whatever the slug, and the child syncs the exact slug.
func TestOddSlugsGetPrintableChildIDsAndExactInput(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	f := &fakeProjects{}
	registerFakeProjects(env, f)
	var mu sync.Mutex
	var ids []string
	env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, info.WorkflowExecution.ID)
	})
	slugs := []string{"gh/acme/café", "gh/acme/ünïcødé-日本", "gh/acme/100% coverage"}
	env.ExecuteWorkflow(ConnectionSyncName, validInput(slugs...))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	assert.ElementsMatch(t, slugs, f.started, "each child gets its exact slug")
	require.Len(t, ids, 3)
	for _, id := range ids {
		assert.True(t, printableASCII(id), "child workflow ID %q", id)
	}
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	for _, o := range res.Projects {
		assert.Contains(t, slugs, o.ProjectSlug)
		assert.Equal(t, ProjectWorkflowID("acme", o.ProjectSlug), o.WorkflowID)
	}
}

// TestContinueAsNewInputStaysBounded: with 2,000 projects failing with long
// messages, the state carried across continue-as-new keeps counters and a
// bounded list, not every outcome.
func TestContinueAsNewInputStaysBounded(t *testing.T) {
	const n = 2000
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	long := strings.Repeat("e", 1000)
	fail := map[string]error{}
	slugs := make([]string, n)
	for i := range slugs {
		slugs[i] = "gh/acme/project-" + strings.Repeat("x", 3) + "-" + time.Duration(i).String()
		typ := "server_error"
		if i%2 == 0 {
			typ = activities.ErrProjectNotFound
		}
		fail[slugs[i]] = temporal.NewNonRetryableApplicationError(long, typ, nil)
	}
	registerFakeProjects(env, &fakeProjects{fail: fail})
	in := validInput(slugs...)
	in.MaxConcurrentProjects = 100
	// Children take a minute each, 100 at a time: after 15.5 minutes 1,500 have
	// finished, and the history is declared long.
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 15*time.Minute+30*time.Second)
	env.SetTestTimeout(5 * time.Minute)
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.True(t, errors.As(env.GetWorkflowError(), &can), "want continue-as-new, got %v", env.GetWorkflowError())
	size := 0
	for _, p := range can.Input.GetPayloads() {
		size += len(p.GetData())
	}
	var next ConnectionSyncInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	st := next.State
	require.NotNil(t, st)
	t.Logf("continue-as-new input after %d of %d projects: %d bytes", st.Failed, n, size)
	assert.GreaterOrEqual(t, st.Failed, 1500)
	// The run stops between two children that ended together: one more of either kind.
	assert.InDelta(t, st.Failed, st.NotFound*2, 1)
	assert.LessOrEqual(t, len(st.Outcomes), MaxListedOutcomes)
	assert.Len(t, st.Missing, min(st.NotFound, MaxMissing))
	assert.LessOrEqual(t, len(st.Projects), ProjectWindow)
	assert.Equal(t, n, st.Total)
	for _, o := range st.Outcomes {
		assert.LessOrEqual(t, len(o.Error), MaxOutcomeError+len("…"))
	}
	// The slugs travel in the input's projects only; the state is bounded,
	// whatever the outcomes.
	state, err := json.Marshal(st)
	require.NoError(t, err)
	t.Logf("of which the state: %d bytes", len(state))
	// Besides the outcomes' bounded lists: at most MaxConcurrentProjectsLimit
	// running children, carried with their figures (CarriedProject).
	assert.LessOrEqual(t, len(st.Carried), in.MaxConcurrentProjects)
	assert.Less(t, len(state), 130_000+MaxConcurrentProjectsLimit*500, "the carried state does not grow with every outcome")
}

// TestWaitingSyncContinuesAsNewWhenSuggested: signals arriving while a
// continuous sync waits grow its history; when Temporal suggests it, the wait
// goes on in a new run (same cycle, same due time), and the dropped signals
// are counted, not kept.
func TestWaitingSyncContinuesAsNewWhenSuggested(t *testing.T) {
	env := newEnv(t)
	mockConnectionActivities(env, &connMocks{})
	registerFakeProjects(env, &fakeProjects{})
	in := validInput(projects(1)...)
	in.Continuous = true
	env.RegisterDelayedCallback(func() {
		for range 3 {
			env.SignalWorkflow(ResyncSignal, ResyncRequest{Reason: strings.Repeat("x", MaxResyncReason+1)})
		}
		env.SignalWorkflow(ResyncSignal, map[string]any{"reason": 42})
	}, 10*time.Minute)
	env.RegisterDelayedCallback(func() { env.SetContinueAsNewSuggested(true) }, 11*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ResyncSignal, ResyncRequest{Reason: strings.Repeat("y", MaxResyncReason+1)})
	}, 12*time.Minute)
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	next := nextRun(t, env.GetWorkflowError())
	st := next.State
	require.NotNil(t, st)
	assert.Equal(t, 1, st.Cycle, "still waiting after cycle 1")
	assert.Equal(t, PhaseWaiting, st.Phase)
	assert.False(t, st.NextCycleAt.IsZero())
	assert.Zero(t, st.ResyncPending)
	assert.GreaterOrEqual(t, st.DroppedSignals, 3)
	assert.Empty(t, st.LastResyncReason, "a dropped signal's content is not kept")
	assert.Empty(t, st.Projects)

	// The next run waits out the rest of the interval, then starts cycle 2.
	env2 := newEnv(t)
	env2.SetContinuedExecutionRunID("run-1")
	mockConnectionActivities(env2, &connMocks{skipPlan: true})
	registerFakeProjects(env2, &fakeProjects{})
	env2.SetStartTime(st.NextCycleAt.Add(-5 * time.Minute))
	env2.ExecuteWorkflow(ConnectionSyncName, next)
	require.True(t, env2.IsWorkflowCompleted())
	following := nextRun(t, env2.GetWorkflowError())
	assert.Equal(t, 2, following.State.Cycle)
	assert.Equal(t, PhaseVerify, following.State.Phase)
}

// TestStateFromAStartIsRefused: only the workflow itself may carry a state.
func TestStateFromAStartIsRefused(t *testing.T) {
	env := newEnv(t)
	registerFakeProjects(env, &fakeProjects{})
	in := validInput(projects(1)...)
	in.State = &ConnectionSyncState{Verified: true, Discovered: true, Projects: projects(1),
		Totals: activities.SyncCounts{Entities: map[string]int64{store.KindPipeline: 999999}}}
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	app := requireInvalidInput(t, env.GetWorkflowError())
	assert.Contains(t, app.Message(), "state")

	env = newEnv(t)
	pin := projectInput()
	pin.State = &ProjectSyncState{Planned: true, Paged: true}
	env.ExecuteWorkflow(ProjectSync, pin)
	require.True(t, env.IsWorkflowCompleted())
	requireInvalidInput(t, env.GetWorkflowError())
}

// requireInvalidInput requires err to hold a non-retryable invalid_input error.
func requireInvalidInput(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "want an ApplicationError, got %v", err)
	assert.Equal(t, activities.ErrInvalidInput, app.Type())
	assert.True(t, app.NonRetryable())
	return app
}

// TestLargeCycleReadsItsProjectsByWindow: beyond ProjectWindow projects the
// state holds a window and reads the next ones from the store; the result
// lists the failures only and counts the others.
func TestLargeCycleReadsItsProjectsByWindow(t *testing.T) {
	const n = 2*ProjectWindow + 50
	env := newEnv(t)
	var completed activities.CompleteConnectionInput
	m := &connMocks{completed: &completed}
	mockConnectionActivities(env, m)
	slugs := make([]string, n)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("gh/acme/p-%03d", i)
	}
	f := &fakeProjects{fail: map[string]error{
		slugs[n-1]: temporal.NewNonRetryableApplicationError("gone", activities.ErrProjectNotFound, nil),
	}}
	registerFakeProjects(env, f)
	in := validInput(slugs...)
	in.MaxConcurrentProjects = 100
	env.ExecuteWorkflow(ConnectionSyncName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res ConnectionSyncResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.ElementsMatch(t, slugs, f.started, "every project once")
	assert.Equal(t, 1, res.FailedProjects)
	require.Len(t, res.Projects, 1)
	assert.Equal(t, slugs[n-1], res.Projects[0].ProjectSlug)
	assert.Equal(t, n-1, res.OmittedProjects)
	assert.Equal(t, int64(10*(n-1)), res.Totals.Of(store.KindPipeline))
	assert.Nil(t, completed.Projects, "FinishCycle reads the list from the store")
	assert.Equal(t, []string{slugs[n-1]}, completed.Missing)
}

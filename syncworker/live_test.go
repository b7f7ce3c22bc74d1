package syncworker

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// A project sync's activity reports to its workflow and to its connection's;
// the connection's own activity, and one of a project workflow that is not the
// connection's child, only to their workflow; a connection whose history has
// reached LiveReportsUpTo events gets none.
func TestSignalLiveReachesTheProjectAndItsConnection(t *testing.T) {
	c := &mocks.Client{}
	type call struct {
		id, run string
		p       activities.LiveProgress
	}
	var calls []call
	history := 100
	c.On("DescribeWorkflow", mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, string, string) (*client.WorkflowExecutionDescription, error) {
			return &client.WorkflowExecutionDescription{WorkflowExecutionMetadata: client.WorkflowExecutionMetadata{
				HistoryLength: history}}, nil
		})
	c.On("SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, workflows.LiveProgressSignal, mock.Anything).
		Run(func(args mock.Arguments) {
			calls = append(calls, call{args.String(1), args.String(2), args.Get(4).(activities.LiveProgress)})
		}).Return(nil)
	report := signalLive(c, time.Millisecond)
	project := workflows.ProjectWorkflowID("demo", "gh/acme/api")
	p := activities.LiveProgress{Step: activities.StepProject, Project: "gh/acme/api"}
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: project, RunID: "r1",
		ConnectionID: "demo"}, p))
	require.Equal(t, []call{{project, "r1", p}, {workflows.ConnectionWorkflowID("demo"), "", p}}, calls)

	calls = nil
	users := activities.LiveProgress{Step: activities.StepUsers}
	conn := workflows.ConnectionWorkflowID("demo")
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: conn, RunID: "r2",
		ConnectionID: "demo"}, users))
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: "someone-elses", RunID: "r3",
		ConnectionID: "demo"}, p))
	require.Equal(t, []call{{conn, "r2", users}, {"someone-elses", "r3", p}}, calls)

	// A connection whose history is long gets no report; the project does.
	calls = nil
	history = workflows.LiveReportsUpTo
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: project, RunID: "r1",
		ConnectionID: "demo"}, p))
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: conn, RunID: "r2",
		ConnectionID: "demo"}, users))
	require.Equal(t, []call{{project, "r1", p}}, calls)
}

// Reports bound for one connection within the gathering window go as one
// signal (a batch); a report alone goes as it is.
func TestLiveBatcherGathersAConnectionsReports(t *testing.T) {
	var mu sync.Mutex
	sent := map[string][]activities.LiveProgress{}
	b := &liveBatcher{gather: 50 * time.Millisecond,
		send: func(_ context.Context, to liveRun, p activities.LiveProgress) error {
			mu.Lock()
			defer mu.Unlock()
			sent[to.ConnectionID] = append(sent[to.ConnectionID], p)
			return nil
		}}
	report := func(project string) activities.LiveProgress {
		return activities.LiveProgress{Project: project, Step: activities.StepProject}
	}
	var wg sync.WaitGroup
	for _, r := range []struct{ conn, project string }{{"c1", "gh/a/x"}, {"c1", "gh/a/y"}, {"c2", "gh/b/z"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, b.add(context.Background(), liveRun{ConnectionID: r.conn}, report(r.project)))
		}()
	}
	wg.Wait()
	require.Len(t, sent["c1"], 1, "one signal for the connection's two reports")
	require.ElementsMatch(t, []activities.LiveProgress{report("gh/a/x"), report("gh/a/y")}, sent["c1"][0].Batch)
	require.Equal(t, []activities.LiveProgress{report("gh/b/z")}, sent["c2"], "alone: as it is")
	require.NoError(t, b.add(context.Background(), liveRun{ConnectionID: "c1"}, report("gh/a/x")))
	require.Len(t, sent["c1"], 2, "a later report opens a new batch")
}

// A report bound for a connection that has ended (here terminated) asks the
// reporting project syncs to stop: they outlived it, as a run's children do to
// span continue-as-new. A running connection's children are left alone.
func TestReportsToAnEndedConnectionStopItsOrphans(t *testing.T) {
	c := &mocks.Client{}
	status := enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	c.On("DescribeWorkflow", mock.Anything, mock.Anything, mock.Anything).Return(
		func(context.Context, string, string) (*client.WorkflowExecutionDescription, error) {
			return &client.WorkflowExecutionDescription{WorkflowExecutionMetadata: client.WorkflowExecutionMetadata{
				Status: status, HistoryLength: 10}}, nil
		})
	c.On("SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, workflows.LiveProgressSignal, mock.Anything).Return(nil)
	var canceled []string
	c.On("CancelWorkflow", mock.Anything, mock.Anything, "").Run(func(args mock.Arguments) {
		canceled = append(canceled, args.String(1))
	}).Return(nil)
	report := signalLive(c, 20*time.Millisecond)
	send := func(slug string) {
		to := activities.LiveTarget{WorkflowID: workflows.ProjectWorkflowID("demo", slug), RunID: "r", ConnectionID: "demo"}
		require.NoError(t, report(context.Background(), to, activities.LiveProgress{Step: activities.StepRefresh, Project: slug}))
	}
	send("gh/acme/api")
	assert.Empty(t, canceled, "the connection runs")

	status = enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED
	var wg sync.WaitGroup
	for _, slug := range []string{"gh/acme/api", "gh/acme/web"} {
		wg.Go(func() { send(slug) })
	}
	wg.Wait()
	assert.ElementsMatch(t, []string{workflows.ProjectWorkflowID("demo", "gh/acme/api"),
		workflows.ProjectWorkflowID("demo", "gh/acme/web")}, canceled, "both orphans, gathered in one batch")

	canceled = nil
	conn := workflows.ConnectionWorkflowID("demo")
	require.NoError(t, report(context.Background(), activities.LiveTarget{WorkflowID: conn, RunID: "r2", ConnectionID: "demo"},
		activities.LiveProgress{Step: activities.StepUsers}))
	assert.Empty(t, canceled, "a connection's own activity is no orphan")
}

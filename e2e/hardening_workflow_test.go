package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestOddSlugsSyncAndStoreExactly: projects whose slugs are not ASCII get
// printable child workflow IDs (on main their child never ran a task, and the
// connection waited for ever); the sync completes and stores the exact slugs.
func TestOddSlugsSyncAndStoreExactly(t *testing.T) {
	// The fake's odd projects, plus one named café.
	odd := circlecitest.OddRepoNames
	circlecitest.OddRepoNames = append(slices.Clone(odd), "café")
	t.Cleanup(func() { circlecitest.OddRepoNames = odd })
	tsrv := startTemporal(t)
	dbURL := backends[0].url(t)
	opts := datasetOptions(11)
	opts.Projects, opts.PipelinesPerProject, opts.OddProjects = 1, 5, len(circlecitest.OddRepoNames)
	fake := startFake(t, opts)
	token := fake.Token()
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, token)
	tq := newID("e2e-odd")
	startWorker(t, tsrv, tq, dbURL)
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	slugs := []string{"gh/acme/café", "gh/acme/ünïcødé-日本"}
	in := workflows.ConnectionSyncInput{ConnectionID: newID("odd"), OrgSlug: "gh/acme", BaseURL: fake.URL,
		TokenEnv: tokenEnv, Projects: slugs}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := s.run(ctx, in)
	require.NoError(t, err)
	checkResults(t, []workflows.ConnectionSyncInput{in}, []workflows.ConnectionSyncResult{res}, []error{nil})
	var synced []string
	for _, o := range res.Projects {
		synced = append(synced, o.ProjectSlug)
		if o.Inline { // listed projects' pages that fit run in the connection's activity
			assert.Empty(t, o.WorkflowID)
		} else {
			assert.Equal(t, workflows.ProjectWorkflowID(in.ConnectionID, o.ProjectSlug), o.WorkflowID)
		}
	}
	assert.Equal(t, slugs, synced)
	requireTablesEqual(t, dbURL, filterExpected(fake.Expected(token), slugs...))
	st, err := openStore(t, dbURL).ConnectionState(ctx, in.ConnectionID)
	require.NoError(t, err)
	assert.Equal(t, slugs, st.Projects, "the record holds the exact slugs")
}

// TestManyProjectsStayBounded: an organisation of many projects (E2E_PROJECTS,
// default 250) completes with a dev server that suggests continue-as-new early;
// every continue-as-new input stays small whatever the number of projects (on
// main it held every outcome: 1.99 MB at 4,112 projects, and the run was
// terminated); a cycle that does not complete leaves the connection's record as
// it was.
func TestManyProjectsStayBounded(t *testing.T) {
	n := 250
	if v, err := strconv.Atoi(os.Getenv("E2E_PROJECTS")); err == nil && v > 0 {
		n = v
	}
	tsrv := startTemporal(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=300")
	dbURL := backends[0].url(t)
	opts := datasetOptions(12)
	opts.Projects, opts.PipelinesPerProject, opts.Users = 3*n, -1, 1
	opts.Faults = circlecitest.Faults{}
	fake := startFake(t, opts)
	token := fake.Token()
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, token)
	tq := newID("e2e-many")
	startWorker(t, tsrv, tq, dbURL)
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	in := connectionInputs(fake, newID("many"), tokenEnv)[0]
	for _, p := range fake.Expected(token).Projects {
		if p.OrganizationSlug == in.OrgSlug {
			in.Projects = append(in.Projects, p.Slug)
		}
	}
	require.Len(t, in.Projects, n)
	in.MaxConcurrentProjects = 50
	ctx := context.Background()
	st := openStore(t, dbURL)

	// A cycle terminated half-way leaves the record alone.
	run, err := s.start(ctx, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		p, err := queryProgress(ctx, tsrv.Client(), run.GetID())
		return err == nil && p.Projects.Completed > 0
	}, time.Minute, 100*time.Millisecond)
	require.NoError(t, tsrv.Client().TerminateWorkflow(ctx, run.GetID(), "", "e2e: a cycle that never completes"))
	rec, err := st.ConnectionState(ctx, in.ConnectionID)
	require.NoError(t, err)
	assert.Empty(t, rec.Projects, "the record changes only when a cycle completes")

	start := time.Now()
	res, err := s.run(ctx, in)
	require.NoError(t, err)
	wall := time.Since(start)
	assert.Zero(t, res.FailedProjects)
	assert.Equal(t, n, res.OmittedProjects+len(res.Projects))
	fig := connectionChain(t, tsrv.Client(), runRef{workflows.ConnectionWorkflowID(in.ConnectionID), ""})
	t.Logf("%d projects in %s: %d runs, largest run %d events / %d bytes, largest continue-as-new input %d bytes",
		n, wall.Round(time.Millisecond), fig.Runs, fig.MaxEvents, fig.MaxBytes, fig.MaxContinueInput)
	assert.Greater(t, fig.Runs, 2, "the connection continued as new")
	inputBytes := 0
	for _, p := range in.Projects {
		inputBytes += len(p) + 3
	}
	assert.Less(t, fig.MaxContinueInput, inputBytes+40_000,
		"a continue-as-new input holds the input and a bounded state, not every outcome")
	rec, err = st.ConnectionState(ctx, in.ConnectionID)
	require.NoError(t, err)
	assert.Len(t, rec.Projects, n)
}

// chainFigures sums up a chain of runs (continue-as-new).
type chainFigures struct {
	Runs, MaxEvents, MaxBytes, MaxContinueInput int
	// LastEvent is the type of the chain's last event.
	LastEvent enumspb.EventType
	PerRun    []string
	// Children are the first runs of the children the chain started.
	Children []runRef
	// Waits counts the WaitForProjects activities: waits for children an
	// earlier run of the chain left running.
	Waits int
}

// connectionChain reads every run of the chain that starts at ref (RunID "":
// the first run of the workflow ID's latest chain).
func connectionChain(tb testing.TB, c client.Client, ref runRef) chainFigures {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if ref.RunID == "" {
		ref.RunID = firstRun(tb, c, ref.WorkflowID)
	}
	var fig chainFigures
	for ref.RunID != "" {
		fig.Runs++
		events, size, next, last := 0, 0, "", enumspb.EVENT_TYPE_UNSPECIFIED
		it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(tb, err)
			events++
			size += proto.Size(ev)
			last = ev.GetEventType()
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				fig.Children = append(fig.Children, runRef{a.GetWorkflowExecution().GetWorkflowId(),
					a.GetWorkflowExecution().GetRunId()})
			}
			if a := ev.GetActivityTaskScheduledEventAttributes(); a.GetActivityType().GetName() == workflows.WaitForProjectsName {
				fig.Waits++
			}
			if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
				fig.MaxContinueInput = max(fig.MaxContinueInput, proto.Size(a.GetInput()))
				next = a.GetNewExecutionRunId()
			}
		}
		fig.MaxEvents, fig.MaxBytes = max(fig.MaxEvents, events), max(fig.MaxBytes, size)
		fig.LastEvent = last
		fig.PerRun = append(fig.PerRun, fmt.Sprintf("%d events, %d children, %s", events, len(fig.Children), last))
		ref.RunID = next
	}
	return fig
}

// firstRun returns the run ID of the first run of the workflow ID's latest
// chain.
func firstRun(tb testing.TB, c client.Client, workflowID string) string {
	tb.Helper()
	d, err := c.DescribeWorkflow(context.Background(), workflowID, "")
	require.NoError(tb, err)
	return d.RawResponse.GetWorkflowExecutionInfo().GetFirstRunId()
}

// queryProgress asks a ConnectionSync for its progress.
func queryProgress(ctx context.Context, c client.Client, workflowID string) (workflows.ConnectionProgress, error) {
	var p workflows.ConnectionProgress
	v, err := c.QueryWorkflow(ctx, workflowID, "", workflows.ProgressQuery)
	if err == nil {
		err = v.Get(&p)
	}
	return p, err
}

// openStore opens the database at databaseURL for t.
func openStore(t testing.TB, databaseURL string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), databaseURL)
	require.NoError(t, err, fmt.Sprintf("open %s", databaseURL))
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestTerminatedConnectionStopsItsProjects: a connection's children outlive
// its runs (so that a run can continue as new without waiting for them); when
// the connection is terminated, the worker asks those still running to stop at
// their next live report, as termination used to take them down with it.
func TestTerminatedConnectionStopsItsProjects(t *testing.T) {
	tsrv := startTemporal(t)
	opts := datasetOptions(31)
	opts.PipelinesPerProject = 400
	opts.Faults.Latency = 20 * time.Millisecond
	fake := startFake(t, opts)
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	tq := newID("e2e-orphans")
	startWorker(t, tsrv, tq, backends[0].url(t), func(cfg *syncworker.Config) {
		cfg.PagesPerActivity = 1
		cfg.ReportEvery = 300 * time.Millisecond
	})
	c := tsrv.Client()
	s := &syncer{c: c, taskQueue: tq}
	in := connectionInputs(fake, newID("orphans"), tokenEnv)[0]
	ctx := context.Background()
	run, err := s.start(ctx, in)
	require.NoError(t, err)
	// The child has started and is paging (the progress lists a project from
	// the moment its start is asked for).
	var child string
	for _, p := range fake.Expected(fake.Token()).Projects {
		if p.OrganizationSlug == in.OrgSlug {
			child = workflows.ProjectWorkflowID(in.ConnectionID, p.Slug)
		}
	}
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflow(ctx, child, "")
		return err == nil && d.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && fake.Stats().Total > 100
	}, time.Minute, 50*time.Millisecond)
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), "", "e2e: stop the sync"))
	var status enumspb.WorkflowExecutionStatus
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflow(ctx, child, "")
		if err != nil {
			return false
		}
		status = d.Status
		return status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}, time.Minute, 100*time.Millisecond)
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, status, "the child was stopped, not left to finish")
}

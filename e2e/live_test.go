package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestLiveProgress: while a project is being synced (a slow fake), its progress
// query, its CircleCIPipelinesSynced search attribute and its connection's
// progress show pipelines written before the project ends. The histories'
// cost is logged as events per minute: the project's, and its connection's
// while it runs 4 projects at once (the first organisation's).
func TestLiveProgress(t *testing.T) {
	tsrv := startTemporal(t)
	c := tsrv.Client()
	dbURL := backends[0].url(t)
	opts := datasetOptions(16)
	opts.Projects, opts.PipelinesPerProject = 8, 160
	opts.Faults = circlecitest.Faults{Latency: 450 * time.Millisecond}
	fake := startFake(t, opts)
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	tq := newID("e2e-live")
	startWorker(t, tsrv, tq, dbURL)
	in := connectionInputs(fake, newID("live"), tokenEnv)[0]
	s := &syncer{c: c, taskQueue: tq}
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	run, err := s.start(ctx, in)
	require.NoError(t, err)
	slug := fake.Expected(fake.Token()).Projects[0].Slug
	projectID := workflows.ProjectWorkflowID(in.ConnectionID, slug)

	seen := watchProject(t, c, projectID)
	t.Logf("mid-project: %d pipelines in the progress query, project still running", seen)
	connSaw := connectionSawProject(t, c, workflows.ConnectionWorkflowID(in.ConnectionID), slug)
	t.Logf("mid-project: the connection shows %s with %d pipelines", slug, connSaw)
	ids := listWorkflows(t, c, fmt.Sprintf(`CircleCIProject=%q AND ExecutionStatus="Running" AND CircleCIPipelinesSynced > 0`, slug), 1)
	require.Equal(t, []string{projectID}, ids, "the search attribute shows pipelines while the project runs")

	var res workflows.ConnectionSyncResult
	require.NoError(t, run.Get(ctx, &res))
	total := res.Totals.Of(store.KindPipeline)
	var ofOrg int
	for _, pr := range fake.Expected(fake.Token()).Projects {
		if strings.HasPrefix(pr.Slug, in.OrgSlug+"/") {
			ofOrg++
		}
	}
	require.Equal(t, int64(opts.PipelinesPerProject*ofOrg), total)
	require.Less(t, int64(seen), total, "seen before the end")
	logHistoryCost(t, c, projectID, workflows.ConnectionWorkflowID(in.ConnectionID))
}

// watchProject queries the project's progress until it shows pipelines while
// the project is still running, and returns how many.
func watchProject(t *testing.T, c client.Client, id string) int64 {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := c.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
		if err != nil {
			continue // not started yet
		}
		var p workflows.ProjectProgress
		require.NoError(t, v.Get(&p))
		n := p.Counts.Of(store.KindPipeline)
		if n == 0 {
			continue
		}
		desc, err := c.DescribeWorkflow(context.Background(), id, "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.Status,
			"the project had not ended when its progress showed %d pipelines", n)
		return n
	}
	t.Fatal("the progress query never showed pipelines while the project ran")
	return 0
}

// connectionSawProject queries the connection until its running project shows
// pipelines, and returns how many.
func connectionSawProject(t *testing.T, c client.Client, id, slug string) int64 {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := c.QueryWorkflow(context.Background(), id, "", workflows.ProgressQuery)
		require.NoError(t, err)
		var p workflows.ConnectionProgress
		require.NoError(t, v.Get(&p))
		for _, rp := range p.RunningProjects {
			if n := rp.Counts.Of(store.KindPipeline); rp.ProjectSlug == slug && n > 0 {
				require.GreaterOrEqual(t, p.Totals.Of(store.KindPipeline), n, "the totals include it")
				return n
			}
		}
	}
	t.Fatal("the connection never showed its running project's pipelines")
	return 0
}

// logHistoryCost logs what the live reports cost the project's and the
// connection's histories: the events from the project's first live report to
// its last, per minute (the steady state while it writes), and in all.
func logHistoryCost(t *testing.T, c client.Client, projectID, connectionID string) {
	t.Helper()
	project := eventsOf(t, c, projectID)
	signals := project.of(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	require.GreaterOrEqual(t, len(signals), 2, "the activity reported live, more than once")
	from, to := signals[0], signals[len(signals)-1]
	perMin := func(h eventTimes) float64 { return float64(h.within(from, to)) / to.Sub(from).Minutes() }
	conn := eventsOf(t, c, connectionID)
	t.Logf("figure: project history %d events, %d live reports, %d upserts, %d reports to the connection, "+
		"%d workflow tasks; between its first and last live report (%s): %.0f events/min in the project's history, "+
		"%.0f in the connection's", len(project.all), len(signals), len(project.of(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)),
		len(project.of(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)),
		len(project.of(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)), to.Sub(from).Round(time.Second), perMin(project), perMin(conn))
}

// eventTimes holds a history's event times, by type.
type eventTimes struct {
	all    []time.Time
	byType map[enumspb.EventType][]time.Time
}

func eventsOf(t *testing.T, c client.Client, id string) eventTimes {
	t.Helper()
	h := eventTimes{byType: map[enumspb.EventType][]time.Time{}}
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		require.NoError(t, err)
		at := e.GetEventTime().AsTime()
		h.all = append(h.all, at)
		h.byType[e.GetEventType()] = append(h.byType[e.GetEventType()], at)
	}
	return h
}

func (h eventTimes) of(typ enumspb.EventType) []time.Time { return h.byType[typ] }

// within counts the events in [from, to).
func (h eventTimes) within(from, to time.Time) int {
	n := 0
	for _, at := range h.all {
		if !at.Before(from) && at.Before(to) {
			n++
		}
	}
	return n
}

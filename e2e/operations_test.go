package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/metrics"
	"github.com/circleci-sync/circleci-sync/resync"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// freeAddr returns a free 127.0.0.1 address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// listWorkflows runs a visibility query until it returns at least want runs (it
// is eventually consistent) and returns their workflow IDs, sorted.
func listWorkflows(t *testing.T, c client.Client, query string, want int) []string {
	t.Helper()
	var ids []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		require.NoError(t, err, query)
		ids = ids[:0]
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if len(ids) >= want || time.Now().After(deadline) {
			break
		}
	}
	slices.Sort(ids)
	return ids
}

// temporalCLI runs the Temporal CLI against tsrv and returns its output.
func temporalCLI(t *testing.T, hostPort string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.TemporalCLI(t), append(args, "--address", hostPort, "--namespace", "default")...)
	cmd.Env = append(os.Environ(), "TEMPORAL_CONFIG_FILE="+filepath.Join(t.TempDir(), "none.toml"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "temporal %s\n%s", strings.Join(args, " "), out)
	return string(out)
}

// TestOperations is what people who run circleci-sync do with it, on a real dev
// server: a worker that registers its search attributes and serves metrics syncs
// a connection; the runs are found by search attribute (SDK and Temporal CLI);
// the progress query's figures equal the store's; another team's workflow runs
// the sync as its child and then asks for a re-sync through the Update; the
// starter's schedule starts a sync; and /metrics has the named series.
func TestOperations(t *testing.T) {
	tsrv := startTemporal(t)
	c := tsrv.Client()
	dbURL := backends[0].url(t)
	opts := datasetOptions(11)
	fake := startFake(t, opts)
	token := fake.Token()
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, token)
	tq := newID("e2e-ops")
	metricsAddr := freeAddr(t)
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	logs := startWorker(t, tsrv, tq, dbURL, func(cfg *syncworker.Config) {
		cfg.Metrics, cfg.MetricsAddr = m, metricsAddr
	})
	s := &syncer{c: c, taskQueue: tq}
	prefix := newID("ops")
	ins := connectionInputs(fake, prefix, tokenEnv)[:1]
	in := ins[0]
	ex := filterExpected(fake.Expected(token), projectsOf(fake.Expected(token), in.OrgSlug)...)

	results := s.syncAll(t, ins)
	logResults(t, "full", ins, results)
	requireTablesEqual(t, dbURL, ex)
	connID := workflows.ConnectionWorkflowID(in.ConnectionID)

	o := &opsRun{tsrv: tsrv, c: c, dbURL: dbURL, fake: fake, token: token, tokenEnv: tokenEnv, tq: tq,
		metricsAddr: metricsAddr, logs: logs, prefix: prefix, in: in, ex: ex, connID: connID}
	t.Run("search_attributes", o.searchAttributes)
	t.Run("progress_matches_store", o.progressMatchesStore)
	t.Run("resync_from_another_workflow", o.resyncFromAnotherWorkflow)
	t.Run("schedule_triggered_sync", o.scheduleTriggeredSync)
	t.Run("metrics", o.metrics)
	t.Run("no_token_leak", o.noTokenLeak)
}

// opsRun is what the steps of TestOperations share: the dev server, the fake,
// the database, the worker's task queue, log and metrics address, and the
// connection synced.
type opsRun struct {
	tsrv                                    *testsuite.DevServer
	c                                       client.Client
	fake                                    *circlecitest.Server
	dbURL, token, tokenEnv, tq, metricsAddr string
	logs                                    *testenv.Buffer
	prefix, connID                          string
	in                                      workflows.ConnectionSyncInput
	ex                                      circlecitest.Expected
}

// searchAttributes finds the runs by search attribute, with the SDK and the
// Temporal CLI.
func (o *opsRun) searchAttributes(t *testing.T) {
	tsrv, c, logs, in, ex, connID := o.tsrv, o.c, o.logs, o.in, o.ex, o.connID
	require.Contains(t, logs.String(), "search attributes added", "the worker registered them")
	all := listWorkflows(t, c, fmt.Sprintf(`CircleCIConnection=%q`, in.ConnectionID), 1+len(ex.Projects))
	require.Contains(t, all, connID)
	for _, p := range ex.Projects {
		require.Contains(t, all, workflows.ProjectWorkflowID(in.ConnectionID, p.Slug))
		got := listWorkflows(t, c, fmt.Sprintf(`CircleCIProject=%q AND CircleCISyncPhase="done" AND CircleCIPipelinesSynced > 0`, p.Slug), 1)
		require.Equal(t, []string{workflows.ProjectWorkflowID(in.ConnectionID, p.Slug)}, got)
	}
	got := listWorkflows(t, c, fmt.Sprintf(`CircleCIOrg=%q AND WorkflowType="ConnectionSync" AND CircleCISyncPhase="done"`, in.OrgSlug), 1)
	require.Contains(t, got, connID)
	// As users do, with the Temporal CLI.
	out := temporalCLI(t, tsrv.FrontendHostPort(), "workflow", "list", "--query",
		fmt.Sprintf(`CircleCIConnection=%q`, in.ConnectionID))
	require.Contains(t, out, connID)
	t.Logf("temporal workflow list --query 'CircleCIConnection=%q':\n%s", in.ConnectionID, out)
	// docs/operations.md: the phase and counts from the command line.
	out = temporalCLI(t, tsrv.FrontendHostPort(), "workflow", "list", "--query",
		fmt.Sprintf(`CircleCIConnection=%q`, in.ConnectionID), "-o", "json")
	require.Contains(t, out, "CircleCISyncPhase")
	require.Contains(t, out, "CircleCIPipelinesSynced")
	out = temporalCLI(t, tsrv.FrontendHostPort(), "workflow", "count", "--query",
		fmt.Sprintf(`CircleCIConnection=%q AND CircleCISyncPhase="done"`, in.ConnectionID))
	require.Contains(t, out, fmt.Sprint(1+len(ex.Projects)), "the connection and its projects are done:\n%s", out)
}

// progressMatchesStore checks the progress query's figures against the store's.
func (o *opsRun) progressMatchesStore(t *testing.T) {
	tsrv, c, dbURL, fake, ex, connID := o.tsrv, o.c, o.dbURL, o.fake, o.ex, o.connID
	v, err := c.QueryWorkflow(context.Background(), connID, "", workflows.ProgressQuery)
	require.NoError(t, err)
	var p workflows.ConnectionProgress
	require.NoError(t, v.Get(&p))
	st, err := store.Open(context.Background(), dbURL)
	require.NoError(t, err)
	defer st.Close()
	counts, err := st.Counts(context.Background())
	require.NoError(t, err)
	ledger, err := st.Skipped(context.Background())
	require.NoError(t, err)
	byReason := map[string]int64{}
	for _, e := range ledger {
		byReason[e.Reason]++
	}
	t.Logf("progress: %+v", p)
	assert.Equal(t, workflows.PhaseDone, p.Phase)
	assert.Equal(t, len(ex.Projects), p.Projects.Completed)
	assert.Equal(t, counts.Entities[store.KindPipeline], p.Totals.Of(store.KindPipeline), "pipelines written = pipelines stored")
	assert.Equal(t, counts.Entities[store.KindWorkflow], p.Totals.Of(store.KindWorkflow))
	assert.Equal(t, counts.Entities[store.KindJob], p.Totals.Of(store.KindJob))
	assert.Equal(t, counts.Entities[store.KindUser], p.Totals.Of(store.KindUser))
	assert.Equal(t, counts.Skipped, p.Totals.Skipped)
	assert.Equal(t, byReason["expired"], p.Totals.SkippedBy.Expired)
	assert.Equal(t, byReason["server_error"], p.Totals.SkippedBy.ServerError)
	assert.Equal(t, byReason["not_found"], p.Totals.SkippedBy.NotFound)
	assert.Equal(t, fake.Stats().Total, p.Totals.Requests, "requests counted = requests the fake answered")
	// The README's command.
	out := temporalCLI(t, tsrv.FrontendHostPort(), "workflow", "query", "--workflow-id", connID, "--name",
		workflows.ProgressQuery, "--output", "json")
	require.Contains(t, out, fmt.Sprintf(`"pipelines": %d`, counts.Entities[store.KindPipeline]))
}

// resyncFromAnotherWorkflow runs the sync as another team's child workflow,
// which then asks for a re-sync through the Update.
func (o *opsRun) resyncFromAnotherWorkflow(t *testing.T) {
	c, fake, tq, in, ex, connID := o.c, o.fake, o.tq, o.in, o.ex, o.connID
	const otherQueue = "another-team"
	w := worker.New(c, otherQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(resync.Example, workflow.RegisterOptions{Name: resync.ExampleName})
	require.NoError(t, w.Start())
	defer w.Stop()
	before := fake.Stats().Total
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: newID("another-team-report"), TaskQueue: otherQueue,
	}, resync.ExampleName, resync.ExampleInput{Sync: in, Options: resync.Options{TaskQueue: tq}})
	require.NoError(t, err)
	var res resync.ExampleResult
	ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
	defer cancel()
	require.NoError(t, run.Get(ctx, &res))
	t.Logf("child sync: %d projects, %d pipelines; resync answer %+v", len(res.Synced.Projects),
		res.Synced.Totals.Of(store.KindPipeline), res.Resync)
	require.Len(t, res.Synced.Projects, len(ex.Projects))
	for _, p := range res.Synced.Projects {
		require.True(t, p.Incremental, "the second sync of %s is incremental", p.ProjectSlug)
	}
	require.Equal(t, workflows.ResyncResponse{Cycle: 1, Status: workflows.ResyncIncluded, RunningCycle: 1, Pending: 1},
		res.Resync, "the child had ended: the request started a sync whose first cycle includes it")
	// The sync the Update started runs to its end.
	var again workflows.ConnectionSyncResult
	require.NoError(t, c.GetWorkflow(ctx, connID, "").Get(ctx, &again))
	require.Equal(t, 1, again.Cycle)
	require.Zero(t, again.FailedProjects)
	t.Logf("requests of the child sync and the re-sync: %d", fake.Stats().Total-before)
}

// scheduleTriggeredSync creates a schedule with the starter and waits for the
// sync it starts.
func (o *opsRun) scheduleTriggeredSync(t *testing.T) {
	tsrv, c, fake, tokenEnv, tq, in, ex := o.tsrv, o.c, o.fake, o.tokenEnv, o.tq, o.in, o.ex
	prefix := o.prefix
	starter := buildCommand(t, "./starter")
	schedConn := prefix + "-sched"
	cmd := exec.Command(starter, "schedule", "create", "-connection", schedConn, "-org", in.OrgSlug,
		"-base-url", fake.URL, "-token-env", tokenEnv, "-every", "1h", "-now", "-task-queue", tq)
	cmd.Env = append(os.Environ(), "TEMPORAL_ADDRESS="+tsrv.FrontendHostPort(), "TEMPORAL_NAMESPACE=default",
		"TEMPORAL_CONFIG_FILE="+filepath.Join(t.TempDir(), "none.toml"))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("starter schedule create:\n%s", out)
	require.Contains(t, string(out), "schedule_id="+workflows.ScheduleID(schedConn))
	query := fmt.Sprintf(`CircleCIConnection=%q AND ExecutionStatus="Completed"`, schedConn)
	ids := listWorkflows(t, c, query, 1+len(ex.Projects))
	var scheduled string
	for _, id := range ids {
		if strings.HasPrefix(id, workflows.ConnectionWorkflowID(schedConn)+"-") {
			scheduled = id
		}
	}
	require.NotEmpty(t, scheduled, "the schedule's sync completed: %v", ids)
	var res workflows.ConnectionSyncResult
	require.NoError(t, c.GetWorkflow(context.Background(), scheduled, "").Get(context.Background(), &res))
	require.Len(t, res.Projects, len(ex.Projects))
	require.Zero(t, res.FailedProjects)
	d, err := c.ScheduleClient().GetHandle(context.Background(), workflows.ScheduleID(schedConn)).Describe(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, d.Info.NumActions, 1)
}

// metrics reads /metrics for the named series.
func (o *opsRun) metrics(t *testing.T) {
	token, metricsAddr, in, ex := o.token, o.metricsAddr, o.in, o.ex
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := string(b)
	for _, series := range []string{
		`circleci_requests_total{method="GET",route="/api/v2/pipeline/{pipeline-id}/workflow",status="200"}`,
		`circleci_requests_total{method="GET",route="/api/v2/pipeline/{pipeline-id}/workflow",status="404"}`,
		`circleci_limiter_wait_seconds_count{route="/api/v2/workflow/{id}/job"}`,
		`circleci_sync_entities_total{kind="pipeline"}`,
		`circleci_sync_entities_total{kind="job"}`,
		`circleci_sync_skipped_total{kind="pipeline",reason="expired"}`,
		`circleci_sync_rows_written_total`,
		`circleci_sync_newest_pipeline_age_seconds{project="` + ex.Projects[0].Slug + `"}`,
		`circleci_sync_connection_last_run_timestamp_seconds{connection="` + in.ConnectionID + `"}`,
		`temporal_workflow_completed_total`,
		`temporal_activity_execution_latency_seconds_count`,
	} {
		assert.Contains(t, body, series)
	}
	require.NotContains(t, body, token)
	t.Logf("/metrics: %d bytes, %d lines", len(body), strings.Count(body, "\n"))
}

// noTokenLeak checks the worker's log for the token.
func (o *opsRun) noTokenLeak(t *testing.T) {
	token, logs, prefix := o.token, o.logs, o.prefix
	requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, prefix, token)
}

// projectsOf returns the slugs of ex's projects of org.
func projectsOf(ex circlecitest.Expected, org string) []string {
	var out []string
	for _, p := range ex.Projects {
		if p.OrganizationSlug == org {
			out = append(out, p.Slug)
		}
	}
	return out
}

// buildCommand builds the command at pkg (relative to the module root) into t's
// temporary directory.
func buildCommand(t *testing.T, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s\n%s", pkg, out)
	return bin
}

// TestSearchAttributesMissing: on a namespace without the search attributes,
// and a worker told not to add them, the worker logs exactly which are missing
// and the command that adds them, and a sync completes without them.
func TestSearchAttributesMissing(t *testing.T) {
	tsrv := startTemporal(t)
	dbURL := backends[0].url(t)
	opts := datasetOptions(17)
	opts.Projects, opts.PipelinesPerProject = 1, 5
	fake := startFake(t, opts)
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	tq := newID("e2e-nosa")
	logs := startWorker(t, tsrv, tq, dbURL, func(cfg *syncworker.Config) { cfg.RegisterSearchAttributes = false })
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	ins := connectionInputs(fake, newID("nosa"), tokenEnv)
	results := s.syncAll(t, ins)
	require.Len(t, results, 1)
	requireTablesEqual(t, dbURL, fake.Expected(fake.Token()))
	log := logs.String()
	require.Contains(t, log, "search attributes missing")
	for _, sa := range workflows.SearchAttributes() {
		require.Contains(t, log, "--name "+sa.Name+" --type ")
	}
	require.Contains(t, log, "temporal operator search-attribute create --namespace default")
	require.NotContains(t, log, "search attributes added")
	// Nothing was set: the namespace does not know the attributes.
	_, err := tsrv.Client().ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf(`CircleCIConnection=%q`, ins[0].ConnectionID)})
	require.Error(t, err, "the attribute is unknown to the namespace")
}

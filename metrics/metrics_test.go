package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circleciprom"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
)

// newMetrics returns a Metrics closed when t ends.
func newMetrics(t *testing.T, opts Options) *Metrics {
	t.Helper()
	m, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

// ourSeries are the names of the series this package defines, for the linter.
var ourSeries = []string{
	EntitiesTotalName, RowsWrittenTotalName, RowsUnchangedTotalName, SkippedTotalName,
	NewestPipelineAgeName, NewestPipelineTimestampName, ConnectionLastRunTimestampName,
	StoreScrapeErrorsTotalName,
}

func TestObserveBatch(t *testing.T) {
	m := newMetrics(t, Options{})
	skipped := func(kind, reason string) store.Skipped {
		return store.Skipped{EntityRef: store.EntityRef{Kind: kind, ID: "x"}, Reason: reason}
	}
	m.ObserveBatch(store.Batch{
		Pipelines: make([]circleci.Pipeline, 3),
		Workflows: make([]circleci.Workflow, 5),
		Jobs:      make([]circleci.Job, 20),
		Skipped: []store.Skipped{
			skipped(store.KindPipeline, "expired"),
			skipped(store.KindPipeline, "expired"),
			skipped(store.KindWorkflow, "server_error"),
		},
		Resolved: []store.EntityRef{{Kind: store.KindPipeline, ID: "y"}},
	}, store.WriteStats{Written: 25, Unchanged: 7})
	m.ObserveBatch(store.Batch{
		Projects: make([]circleci.Project, 1),
		Users:    make([]circleci.User, 2),
		Skipped:  []store.Skipped{skipped(store.KindUser, "not_found")},
	}, store.WriteStats{Written: 4})
	m.ObserveBatch(store.Batch{}, store.WriteStats{})

	want := `
# HELP circleci_sync_entities_total Entities fetched from CircleCI and written to the store, changed or not, by kind.
# TYPE circleci_sync_entities_total counter
circleci_sync_entities_total{kind="job"} 20
circleci_sync_entities_total{kind="job_details"} 0
circleci_sync_entities_total{kind="pipeline"} 3
circleci_sync_entities_total{kind="project"} 1
circleci_sync_entities_total{kind="test_result"} 0
circleci_sync_entities_total{kind="user"} 2
circleci_sync_entities_total{kind="workflow"} 5
# HELP circleci_sync_rows_unchanged_total Store rows the sync left alone: identical, or older than the stored row.
# TYPE circleci_sync_rows_unchanged_total counter
circleci_sync_rows_unchanged_total 7
# HELP circleci_sync_rows_written_total Store rows inserted, updated or deleted by the sync.
# TYPE circleci_sync_rows_written_total counter
circleci_sync_rows_written_total 29
# HELP circleci_sync_skipped_total Entities the sync could not fetch and recorded in the skipped ledger, by kind and reason.
# TYPE circleci_sync_skipped_total counter
circleci_sync_skipped_total{kind="pipeline",reason="expired"} 2
circleci_sync_skipped_total{kind="user",reason="not_found"} 1
circleci_sync_skipped_total{kind="workflow",reason="server_error"} 1
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		EntitiesTotalName, RowsWrittenTotalName, RowsUnchangedTotalName, SkippedTotalName))

	var nilMetrics *Metrics
	nilMetrics.ObserveBatch(store.Batch{Jobs: make([]circleci.Job, 1)}, store.WriteStats{Written: 1})
}

func TestEntityKindsStartAtZero(t *testing.T) {
	m := newMetrics(t, Options{})
	want := `
# HELP circleci_sync_entities_total Entities fetched from CircleCI and written to the store, changed or not, by kind.
# TYPE circleci_sync_entities_total counter
circleci_sync_entities_total{kind="job"} 0
circleci_sync_entities_total{kind="job_details"} 0
circleci_sync_entities_total{kind="pipeline"} 0
circleci_sync_entities_total{kind="project"} 0
circleci_sync_entities_total{kind="test_result"} 0
circleci_sync_entities_total{kind="user"} 0
circleci_sync_entities_total{kind="workflow"} 0
# HELP circleci_sync_rows_written_total Store rows inserted, updated or deleted by the sync.
# TYPE circleci_sync_rows_written_total counter
circleci_sync_rows_written_total 0
`
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		EntitiesTotalName, RowsWrittenTotalName))
}

func TestRegistryHoldsEveryCollector(t *testing.T) {
	m := newMetrics(t, Options{})
	m.CircleCI().ObserveRequest("/project/{project-slug}/pipeline", http.MethodGet, 429, 30*time.Millisecond)
	families, err := m.Registry().Gather()
	require.NoError(t, err)
	names := make(map[string]bool)
	for _, f := range families {
		names[f.GetName()] = true
	}
	for _, n := range []string{"go_goroutines", "process_cpu_seconds_total", circleciprom.RequestsTotalName,
		circleciprom.RequestDurationName, EntitiesTotalName} {
		require.True(t, names[n], "%s missing from the registry", n)
	}
	require.NoError(t, testutil.GatherAndCompare(m.Registry(), strings.NewReader(`
# HELP circleci_requests_total HTTP requests sent to the CircleCI API, by route template, method and status (0: no response).
# TYPE circleci_requests_total counter
circleci_requests_total{method="GET",route="/project/{project-slug}/pipeline",status="429"} 1
`), circleciprom.RequestsTotalName))
}

func TestLint(t *testing.T) {
	m := newMetrics(t, Options{})
	m.ObserveBatch(store.Batch{Skipped: []store.Skipped{{EntityRef: store.EntityRef{Kind: store.KindJob, ID: "j"}, Reason: "expired"}}},
		store.WriteStats{Unchanged: 1})
	st := &fakeStore{
		newest: map[string]time.Time{"gh/o/a": time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		conns:  []store.ConnectionState{{ConnectionID: "c1", LastRunAt: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}},
	}
	require.NoError(t, m.RegisterStore(st))
	problems, err := testutil.GatherAndLint(m.Registry(), ourSeries...)
	require.NoError(t, err)
	require.Empty(t, problems)
	// Every one of our series was there to lint.
	n, err := testutil.GatherAndCount(m.Registry(), ourSeries...)
	require.NoError(t, err)
	require.Equal(t, len(store.EntityKinds)+1+1+1+1+1+1+1, n)
}

func TestTemporalHandler(t *testing.T) {
	m := newMetrics(t, Options{})
	h := m.Temporal().WithTags(map[string]string{"namespace": "default", "task-queue": "q"})
	// Names and label names are sanitized, label values kept (but invalid UTF-8).
	m.Temporal().WithTags(map[string]string{"task_queue": "circleci-sync/ü"}).Counter("temporal.poller-start").Inc(1)
	m.Temporal().WithTags(map[string]string{"task_queue": "bad\xff"}).Counter("temporal_poller_start").Inc(1)
	h.Counter("temporal_request").Inc(2)
	h.Counter("temporal_request").Inc(1)
	h.Gauge("temporal_num_pollers").Update(4)
	h.Timer("temporal_activity_execution_latency").Record(300 * time.Millisecond)
	// Close reports what was recorded.
	require.NoError(t, m.Close())
	require.NoError(t, m.Close())

	body := scrape(t, m)
	require.Contains(t, body, `temporal_request_total{namespace="default",task_queue="q"} 3`)
	require.Contains(t, body, `temporal_num_pollers{namespace="default",task_queue="q"} 4`)
	require.Contains(t, body, `temporal_activity_execution_latency_seconds_bucket{namespace="default",task_queue="q",le="0.25"} 0`)
	require.Contains(t, body, `temporal_activity_execution_latency_seconds_bucket{namespace="default",task_queue="q",le="0.5"} 1`)
	require.Contains(t, body, `temporal_activity_execution_latency_seconds_count{namespace="default",task_queue="q"} 1`)
	require.Contains(t, body, `temporal_poller_start_total{task_queue="circleci-sync/ü"} 1`)
	require.Contains(t, body, `temporal_poller_start_total{task_queue="bad_"} 1`)
}

func TestTemporalHandlerReportsOnItsInterval(t *testing.T) {
	m := newMetrics(t, Options{TemporalReportInterval: 10 * time.Millisecond})
	m.Temporal().Counter("temporal_workflow_completed").Inc(1)
	require.Eventually(t, func() bool {
		n, err := testutil.GatherAndCount(m.Registry(), "temporal_workflow_completed_total")
		return err == nil && n == 1
	}, 10*time.Second, 10*time.Millisecond)
}

func TestTemporalMetricRefusedIsLoggedNotPanicking(t *testing.T) {
	var logs testenv.Buffer
	m := newMetrics(t, Options{Logger: newTestLogger(&logs)})
	// The same name with other labels: the registry refuses the second.
	m.Temporal().WithTags(map[string]string{"a": "1"}).Counter("temporal_x").Inc(1)
	m.Temporal().WithTags(map[string]string{"b": "1"}).Counter("temporal_x").Inc(1)
	require.NoError(t, m.Close())
	require.Contains(t, logs.String(), "Temporal SDK metric not exported")
	require.Contains(t, scrape(t, m), `temporal_x_total{a="1"} 1`)
}

// scrape GETs m.Handler and returns the body, requiring a 200.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

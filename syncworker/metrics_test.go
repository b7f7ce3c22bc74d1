package syncworker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/metrics"
	"github.com/circleci-sync/circleci-sync/store"
)

// newTestMetrics returns a Metrics closed when t ends.
func newTestMetrics(t *testing.T, opts metrics.Options) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	return m
}

// get GETs url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestServeMetrics(t *testing.T) {
	m := newTestMetrics(t, metrics.Options{})
	m.ObserveBatch(store.Batch{}, store.WriteStats{Written: 2})
	var logs testenv.Buffer
	addr, stop, err := ServeMetrics(context.Background(), "127.0.0.1:0", m, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	t.Cleanup(stop)
	require.NotEqual(t, "127.0.0.1:0", addr)

	status, body := get(t, "http://"+addr+"/healthz")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body)
	status, body = get(t, "http://"+addr+"/metrics")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "\n"+metrics.RowsWrittenTotalName+" 2\n")
	require.Contains(t, body, "\ngo_goroutines ")
	status, _ = get(t, "http://"+addr+"/other")
	require.Equal(t, http.StatusNotFound, status)
	resp, err := http.Post("http://"+addr+"/metrics", "text/plain", strings.NewReader(""))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	stop()
	stop()
	_, err = http.Get("http://" + addr + "/healthz")
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "after stop: %v", err)
	require.Contains(t, logs.String(), `"msg":"metrics endpoint serving"`)
	require.Contains(t, logs.String(), `"msg":"metrics endpoint stopped"`)
}

func TestServeMetricsStopsWithContext(t *testing.T) {
	m := newTestMetrics(t, metrics.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var logs testenv.Buffer
	addr, stop, err := ServeMetrics(ctx, "127.0.0.1:0", m, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	t.Cleanup(stop)
	status, _ := get(t, "http://"+addr+"/healthz")
	require.Equal(t, http.StatusOK, status)

	cancel()
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), `"msg":"metrics endpoint stopped"`)
	}, 10*time.Second, 10*time.Millisecond)
	_, err = http.Get("http://" + addr + "/healthz")
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "after the context ended: %v", err)
}

func TestServeMetricsListenError(t *testing.T) {
	m := newTestMetrics(t, metrics.Options{})
	addr, stop, err := ServeMetrics(context.Background(), "127.0.0.1:0", m, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(stop)
	// The port is taken.
	_, _, err = ServeMetrics(context.Background(), addr, m, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, `syncworker: metrics endpoint: listen on "`+addr+`"`)
	_, _, err = ServeMetrics(context.Background(), "not an address", m, slog.New(slog.DiscardHandler))
	require.Error(t, err)
}

// metricsTestWorkflow runs metricsTestActivity once.
func metricsTestWorkflow(ctx workflow.Context, name string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
	var out string
	err := workflow.ExecuteActivity(ctx, metricsTestActivity, name).Get(ctx, &out)
	return out, err
}

// metricsTestActivity greets name.
func metricsTestActivity(_ context.Context, name string) (string, error) {
	return "hello " + name, nil
}

// TestMetricsEndToEnd runs a workflow and an activity on a real Temporal dev server
// with a client whose MetricsHandler is Metrics.Temporal, sends a request through
// a circleci.Client whose Observer is Metrics.CircleCI, and finds the SDK's
// metrics and the request in ServeMetrics' /metrics.
func TestMetricsEndToEnd(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	var logs testenv.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	m := newTestMetrics(t, metrics.Options{Logger: logger, TemporalReportInterval: 50 * time.Millisecond})

	c, err := client.Dial(client.Options{
		HostPort:       srv.FrontendHostPort(),
		Namespace:      "default",
		MetricsHandler: m.Temporal(),
		Logger:         NewLogger(logger),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	const queue = "metrics-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(metricsTestWorkflow)
	w.RegisterActivity(metricsTestActivity)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx := context.Background()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, metricsTestWorkflow, "metrics")
	require.NoError(t, err)
	var out string
	require.NoError(t, run.Get(ctx, &out))
	require.Equal(t, "hello metrics", out)

	// One CircleCI request.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != circleci.RouteMe {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id": "u-1", "login": "ann", "name": "Ann"}`)
	}))
	t.Cleanup(api.Close)
	cc, err := circleci.New(circleci.Options{BaseURL: api.URL, Token: "test-token", Observer: m.CircleCI()})
	require.NoError(t, err)
	me, err := cc.Me(ctx)
	require.NoError(t, err)
	require.Equal(t, "ann", me.Login)

	addr, stop, err := ServeMetrics(ctx, "127.0.0.1:0", m, logger)
	require.NoError(t, err)
	t.Cleanup(stop)

	// The SDK's metrics reach the registry on the report interval.
	wantSDK := []string{
		`temporal_workflow_completed_total{`,
		`workflow_type="metricsTestWorkflow"`,
		`temporal_activity_execution_latency_seconds_count{`,
		`activity_type="metricsTestActivity"`,
		`temporal_request_total{`,
		`task_queue="metrics-test"`,
		`temporal_long_request_total{`,
	}
	var body string
	require.Eventually(t, func() bool {
		var status int
		status, body = get(t, "http://"+addr+"/metrics")
		if status != http.StatusOK {
			return false
		}
		for _, s := range wantSDK {
			if !strings.Contains(body, s) {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "SDK metrics missing from /metrics:\n%s", body)
	require.Contains(t, body, `circleci_requests_total{method="GET",route="/api/v2/me",status="200"} 1`+"\n")
	require.Contains(t, body, `circleci_request_duration_seconds_count{method="GET",route="/api/v2/me",status="200"} 1`+"\n")
	// Every metric the SDK emitted was exported: none refused by the registry.
	require.NotContains(t, logs.String(), "Temporal SDK metric not exported")
	require.NotContains(t, body, "test-token")
}

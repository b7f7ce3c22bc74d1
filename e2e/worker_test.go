package e2e

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/syncworker"
)

// startTemporal starts a Temporal dev server for t (stopped when t ends).
func startTemporal(t testing.TB, extraArgs ...string) *testsuite.DevServer {
	t.Helper()
	start := time.Now()
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{ExtraArgs: extraArgs})
	t.Logf("Temporal dev server at %s (started in %s)", srv.FrontendHostPort(), time.Since(start).Round(time.Millisecond))
	return srv
}

// workerConfig is the worker configuration of the tests: fast pacing, so that
// the syncs are quick.
func workerConfig(taskQueue, databaseURL string) syncworker.Config {
	cfg := syncworker.DefaultConfig()
	cfg.TaskQueue = taskQueue
	cfg.DatabaseURL = databaseURL
	cfg.Limiter.RequestsPerSecond = 1000
	cfg.Limiter.Burst = 100
	cfg.Limiter.MaxConcurrent = 32
	cfg.StopTimeout = 5 * time.Second
	cfg.AllowedBaseURLs = []string{activities.AnyBaseURL} // the fakes listen on free ports
	return cfg
}

// startWorker runs syncworker.RunWorker in-process on taskQueue until t ends,
// with workerConfig changed by tune. It
// gets a Temporal client of its own whose SDK log, like the worker's, goes to the
// returned buffer (debug level), for the token checks.
func startWorker(t testing.TB, tsrv *testsuite.DevServer, taskQueue, databaseURL string,
	tune ...func(cfg *syncworker.Config)) *testenv.Buffer {
	t.Helper()
	logs := &testenv.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := workerConfig(taskQueue, databaseURL)
	for _, f := range tune {
		f(&cfg)
	}
	// As syncworker.Dial does: the codec and the metrics handler are the client's.
	opts := client.Options{HostPort: tsrv.FrontendHostPort(), Namespace: "default", Logger: syncworker.NewLogger(logger)}
	codec.Apply(&opts, cfg.Codec)
	if cfg.Metrics != nil {
		opts.MetricsHandler = cfg.Metrics.Temporal()
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatalf("worker client: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- syncworker.RunWorker(ctx, cfg, c, logger) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("RunWorker returned: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("RunWorker did not return within 30s of its context's end")
		}
		c.Close()
		if t.Failed() {
			t.Logf("worker log (tail):\n%s", tail(logs.String(), 40))
		}
	})
	// A worker that cannot start (store, task queue) returns at once.
	select {
	case err := <-done:
		t.Fatalf("RunWorker returned at once: %v\nlog:\n%s", err, logs.String())
	case <-time.After(200 * time.Millisecond):
	}
	return logs
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

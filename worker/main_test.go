package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// isolate keeps the developer's Temporal profile out of a test.
func isolate(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	t.Setenv("TEMPORAL_PROFILE", "")
	t.Setenv("TEMPORAL_NAMESPACE", "")
	t.Setenv("TEMPORAL_API_KEY", "")
}

// TestRun runs the worker as the command does, configured from the environment,
// and stops it as SIGTERM would.
func TestRun(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	isolate(t)
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendHostPort())
	t.Setenv("DATABASE_URL", testenv.SQLiteURL(t))
	t.Setenv("CIRCLECI_SYNC_TASK_QUEUE", "worker-cmd-test")
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("LOG_LEVEL", "info")
	t.Setenv("WORKER_STOP_TIMEOUT", "1s")

	var logs testenv.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, &logs) }()
	require.Eventually(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, logs.String())
		default:
		}
		return bytes.Contains([]byte(logs.String()), []byte(`"msg":"worker polling"`))
	}, 20*time.Second, 50*time.Millisecond, logs.String())
	require.Contains(t, logs.String(), `"task_queue":"worker-cmd-test"`)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
}

func TestRunBadConfig(t *testing.T) {
	isolate(t)
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("LOG_FORMAT", "")
	t.Setenv("LOG_LEVEL", "")

	t.Setenv("WORKER_MAX_CONCURRENT_ACTIVITIES", "0")
	err := run(context.Background(), &bytes.Buffer{})
	require.ErrorContains(t, err, `WORKER_MAX_CONCURRENT_ACTIVITIES="0"`)

	t.Setenv("WORKER_MAX_CONCURRENT_ACTIVITIES", "")
	t.Setenv("LOG_FORMAT", "yaml")
	require.ErrorContains(t, run(context.Background(), &bytes.Buffer{}), `LOG_FORMAT="yaml"`)

	t.Setenv("LOG_FORMAT", "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	require.ErrorContains(t, run(ctx, &bytes.Buffer{}), "connect to Temporal at 127.0.0.1:1")
}

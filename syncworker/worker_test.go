package syncworker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
)

func TestRunWorker(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c := srv.Client()
	cfg := DefaultConfig()
	cfg.TaskQueue = "syncworker-test"
	cfg.DatabaseURL = testenv.SQLiteURL(t)
	cfg.StopTimeout = 2 * time.Second
	var logs testenv.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunWorker(ctx, cfg, c, logger) }()

	// The worker polls the task queue for workflow and activity tasks.
	require.Eventually(t, func() bool {
		for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			resp, err := c.DescribeTaskQueue(context.Background(), cfg.TaskQueue, typ)
			if err != nil || len(resp.GetPollers()) == 0 {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "no pollers; logs:\n%s", logs.String())

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("RunWorker did not return after its context was cancelled")
	}
	require.Contains(t, logs.String(), `"msg":"worker stopped"`)
	require.Contains(t, logs.String(), `"task_queue":"syncworker-test"`)

	// The database was migrated and closed: it opens again.
	st, err := store.Open(context.Background(), cfg.DatabaseURL)
	require.NoError(t, err)
	require.NoError(t, st.Close())
}

func TestRunWorkerBadDatabase(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	cfg := DefaultConfig()
	cfg.DatabaseURL = "mysql://u:s3cret@h/db"
	err := RunWorker(context.Background(), cfg, srv.Client(), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "open the database mysql://u:xxxxx@h/db")
	require.NotContains(t, err.Error(), "s3cret")
}

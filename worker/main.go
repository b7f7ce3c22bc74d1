// Command worker runs circleci-sync's Temporal worker: it polls the task queue
// circleci-sync (CIRCLECI_SYNC_TASK_QUEUE) for the ConnectionSync and ProjectSync
// workflows and their activities, which fetch CircleCI data and write it to
// DATABASE_URL (default sqlite://./data/circleci-sync.db).
//
// It connects to Temporal with the same configuration as the Temporal CLI:
// TEMPORAL_ADDRESS (default localhost:7233), TEMPORAL_NAMESPACE (default
// "default"), TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and
// TEMPORAL_CONFIG_FILE. CircleCI tokens are read, by the activities, from the
// environment variable each sync names (token_env, default CIRCLECI_TOKEN).
// Logs go to stderr (LOG_FORMAT=text|json, LOG_LEVEL=debug|info|warn|error).
// METRICS_ADDR serves Prometheus metrics; PAYLOAD_ENCRYPTION_KEYS (or _FILE)
// encrypts payloads, and CODEC_SERVER_ADDR then serves the codec server.
//
// SIGINT or SIGTERM stops it gracefully: it stops polling and lets running
// activities finish for WORKER_STOP_TIMEOUT (default 30s). See
// docs/operations.md, "Worker configuration", for every variable.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/circleci-sync/circleci-sync/syncworker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, restore the default handling: a second Ctrl-C
		// kills the worker at once instead of waiting for WORKER_STOP_TIMEOUT
		// (activities it cuts short are retried, resuming from their heartbeats).
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// run reads the configuration, connects to Temporal and runs the worker until ctx
// is done.
func run(ctx context.Context, stderr io.Writer) error {
	logger, err := syncworker.LoggerFromEnv(stderr)
	if err != nil {
		return err
	}
	cfg, err := syncworker.ConfigFromEnv()
	if err != nil {
		return err
	}
	c, err := syncworker.Dial(ctx, &cfg, logger)
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.Metrics != nil {
		defer cfg.Metrics.Close()
	}
	return syncworker.RunWorker(ctx, cfg, c, logger)
}

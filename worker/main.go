// Command worker runs circleci-sync's Temporal worker (package syncworker), configured
// from the environment like the Temporal CLI (docs/operations.md, "Worker
// configuration"). SIGINT or SIGTERM stops it gracefully.
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
		// A second signal kills the worker at once (cut activities are retried).
		<-ctx.Done()
		stop()
	}()
	if err := run(ctx, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// run reads the configuration, dials Temporal and runs the worker until ctx is done.
func run(ctx context.Context, stderr io.Writer) error {
	logger, err := syncworker.LoggerFromEnv(stderr)
	if err != nil {
		return err
	}
	stopProfile, err := startCPUProfile()
	if err != nil {
		return err
	}
	defer stopProfile()
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

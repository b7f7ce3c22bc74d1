// Package syncworker runs circleci-sync's Temporal worker: it opens the store,
// registers the workflows (package workflows) and the activities (package
// activities) on a task queue, and polls it until its context ends.
//
// It is the library behind the worker command (worker/), in the style of
// temporalio/reference-app-orders-go's RunWorker: the command reads the
// configuration (ConfigFromEnv, LoggerFromEnv), dials Temporal as the Temporal CLI
// would (Dial: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TLS, API key, profiles), and
// calls RunWorker; tests call RunWorker with a client of their own.
//
// Files: config.go (Config, the environment), client.go (Temporal client options),
// logging.go (slog, and its adapter for the SDK), worker.go (RunWorker).
package syncworker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/resync"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// RunWorker opens the store cfg names, registers the workflows and activities on
// cfg.TaskQueue and polls it with c until ctx is done. It then stops gracefully:
// it stops polling, lets running activities finish for cfg.StopTimeout (they are
// cancelled after that and retried elsewhere, resuming from their heartbeats),
// and closes the store. It returns nil after a stop asked by ctx, and an error
// when the store cannot be opened or the worker cannot start or fails. c stays
// open: it is the caller's.
//
// Before polling it makes sure the workflows' search attributes exist on
// cfg.Namespace (adding the missing ones when cfg.RegisterSearchAttributes;
// see SearchAttributeRegistry.Ensure): a missing one never fails a sync. With
// cfg.Metrics it serves the metrics on cfg.MetricsAddr; with cfg.Codec and
// cfg.CodecServer.Addr, the codec server for the Temporal CLI and Web UI.
func RunWorker(ctx context.Context, cfg Config, c client.Client, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.DefaultTaskQueue
	}
	logger = logger.With("task_queue", cfg.TaskQueue)

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("open the database %s: %w", store.RedactURL(cfg.DatabaseURL), err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			logger.Warn("closing the database", "error", err)
		}
	}()
	logger.Info("database open", "database", store.RedactURL(cfg.DatabaseURL))

	var observer circleci.Observer
	var batches activities.BatchObserver
	if m := cfg.Metrics; m != nil {
		if err := m.RegisterStore(st); err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		observer, batches = m.CircleCI(), m
		if cfg.MetricsAddr != "" {
			_, stop, err := ServeMetrics(ctx, cfg.MetricsAddr, m, logger)
			if err != nil {
				return err
			}
			defer stop()
		}
	}
	if cfg.Codec != nil {
		logger.Info("payload encryption on", "key_ids", cfg.Codec.KeyIDs())
		if cfg.CodecServer.Addr != "" {
			_, stop, err := ServeCodec(ctx, cfg.Codec, cfg.CodecServer, logger)
			if err != nil {
				return err
			}
			defer stop()
			logger.Info("codec server origins", "cors_origins", cfg.CodecServer.Handler.AllowedOrigins)
		}
	}

	sas := NewSearchAttributeRegistry(c, cfg.Namespace, logger)
	if present, err := sas.Ensure(ctx, cfg.RegisterSearchAttributes); err != nil {
		logger.Warn("cannot check the search attributes: the syncs run without them for now", "error", err)
	} else {
		logger.Info("search attributes", "present", present)
	}

	acts := &activities.Activities{
		Store:       st,
		Credentials: activities.EnvCredentials{},
		Clients: activities.NewClientCache(activities.ClientOptions{
			Limiter:   cfg.Limiter,
			UserAgent: "circleci-sync",
			Observer:  observer,
		}),
		PageConcurrency:     cfg.PageConcurrency,
		MaxPagesPerActivity: cfg.PagesPerActivity,
		Observer:            batches,
		AllowedBaseURLs:     cfg.AllowedBaseURLs,
		TokenEnvPattern:     cfg.TokenEnvPattern,
		SearchAttributes:    sas.Present,
	}

	fatal := make(chan error, 1)
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentActivities,
		WorkerStopTimeout:                  cfg.StopTimeout,
		OnFatalError: func(err error) {
			select {
			case fatal <- err:
			default:
			}
		},
	})
	workflows.Register(w)
	w.RegisterActivity(acts)
	resync.RegisterActivities(w)

	if err := w.Start(); err != nil {
		return fmt.Errorf("start the worker on task queue %s: %w", cfg.TaskQueue, err)
	}
	logger.Info("worker polling",
		"requests_per_second", cfg.Limiter.RequestsPerSecond, "burst", cfg.Limiter.Burst,
		"max_concurrent_requests", cfg.Limiter.MaxConcurrent, "page_concurrency", cfg.PageConcurrency,
		"max_concurrent_activities", cfg.MaxConcurrentActivities, "stop_timeout", cfg.StopTimeout)

	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("stopping: waiting for running activities", "stop_timeout", cfg.StopTimeout)
	case err := <-fatal:
		runErr = fmt.Errorf("worker on task queue %s failed: %w", cfg.TaskQueue, err)
		logger.Error("worker failed", "error", err)
	}
	w.Stop()
	logger.Info("worker stopped")
	return runErr
}

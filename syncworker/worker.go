// Package syncworker runs circleci-sync's Temporal worker: it opens the store, registers
// the workflows and activities on a task queue and polls it until its context ends. The
// worker command reads the configuration (ConfigFromEnv), dials Temporal as the Temporal
// CLI would (Dial) and calls RunWorker; tests call RunWorker with a client of their own.
package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/resync"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// RunWorker opens the store, starts the servers cfg asks for, ensures the search
// attributes and polls cfg.TaskQueue with c until ctx is done; it then lets running
// activities finish within cfg.StopTimeout. It returns nil after a stop asked by ctx.
func RunWorker(ctx context.Context, cfg Config, c client.Client, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.DefaultTaskQueue
	}
	logger = logger.With("task_queue", cfg.TaskQueue)
	if w := cfg.slotsWarning(); w != "" {
		logger.Warn(w)
	}

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

	observer, batches, stop, err := startServers(ctx, cfg, st, logger)
	if err != nil {
		return err
	}
	defer stop()

	sas := NewSearchAttributeRegistry(c, cfg.Namespace, logger)
	if present, err := sas.Ensure(ctx, cfg.RegisterSearchAttributes); err != nil {
		logger.Warn("cannot check the search attributes: the syncs run without them for now", "error", err)
	} else {
		logger.Info("search attributes", "present", present)
	}
	return poll(ctx, cfg, c, newActivities(cfg, st, observer, batches, sas, c), logger)
}

// startServers registers the store's metrics and serves metrics and codec when cfg
// asks; stop shuts down what it started.
func startServers(ctx context.Context, cfg Config, st store.Store, logger *slog.Logger) (
	observer circleci.Observer, batches activities.BatchObserver, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	if m := cfg.Metrics; m != nil {
		if err := m.RegisterStore(st); err != nil {
			return nil, nil, stop, fmt.Errorf("metrics: %w", err)
		}
		observer, batches = m.CircleCI(), m
		if cfg.MetricsAddr != "" {
			_, stopMetrics, err := ServeMetrics(ctx, cfg.MetricsAddr, m, logger)
			if err != nil {
				return nil, nil, stop, err
			}
			stops = append(stops, stopMetrics)
		}
	}
	if cfg.Codec != nil {
		logger.Info("payload encryption on", "key_ids", cfg.Codec.KeyIDs())
		if cfg.CodecServer.Addr != "" {
			_, stopCodec, err := ServeCodec(ctx, cfg.Codec, cfg.CodecServer, logger)
			if err != nil {
				stop()
				return nil, nil, func() {}, err
			}
			stops = append(stops, stopCodec)
			logger.Info("codec server origins", "cors_origins", cfg.CodecServer.Handler.AllowedOrigins)
		}
	}
	return observer, batches, stop, nil
}

// newActivities is the activities' configuration from cfg.
func newActivities(cfg Config, st store.Store, observer circleci.Observer, batches activities.BatchObserver,
	sas *SearchAttributeRegistry, c client.Client) *activities.Activities {
	return &activities.Activities{
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
		Report:              signalLive(c, LiveGather),
		ReportEvery:         cfg.ReportEvery,
	}
}

// signalLive delivers an activity's live progress to its workflow as the
// LiveProgressSignal and, for a project sync's activity, to its connection
// workflow (a relay by the project would cost its history two more events),
// gathered with the worker's other reports to that connection (liveBatcher), as
// are the reports of the connection's own activities (to their run): one
// history check and one signal per connection run and slot. A connection whose
// history has reached workflows.LiveReportsUpTo events gets none
// (signalConnection).
func signalLive(c client.Client, gather time.Duration) activities.ProgressReporter {
	toConnection := &liveBatcher{gather: gather,
		send: func(ctx context.Context, to liveRun, p activities.LiveProgress) error {
			return signalConnection(ctx, c, to, p)
		}}
	return func(ctx context.Context, to activities.LiveTarget, p activities.LiveProgress) error {
		if to.WorkflowID == workflows.ConnectionWorkflowID(to.ConnectionID) {
			return toConnection.add(ctx, liveRun{ConnectionID: to.ConnectionID, RunID: to.RunID}, p)
		}
		err := c.SignalWorkflow(ctx, to.WorkflowID, to.RunID, workflows.LiveProgressSignal, p)
		if p.Project != "" && to.WorkflowID == workflows.ProjectWorkflowID(to.ConnectionID, p.Project) {
			err = errors.Join(err, toConnection.add(ctx, liveRun{ConnectionID: to.ConnectionID}, p))
		}
		return err
	}
}

// signalConnection sends a connection workflow's run a live report, unless its
// history has reached workflows.LiveReportsUpTo events. Reports to a connection
// that has ended (terminated, canceled, timed out) come from the children its
// runs left running (they outlive a run, to span continue-as-new): the worker
// asks them to stop (stopOrphans).
func signalConnection(ctx context.Context, c client.Client, to liveRun, p activities.LiveProgress) error {
	d, err := c.DescribeWorkflow(ctx, to.workflowID(), to.RunID)
	if err != nil {
		return err
	}
	if to.RunID == "" && closed(d.Status) {
		return stopOrphans(ctx, c, to.ConnectionID, p)
	}
	if d.HistoryLength >= workflows.LiveReportsUpTo {
		return nil
	}
	return c.SignalWorkflow(ctx, to.workflowID(), to.RunID, workflows.LiveProgressSignal, p)
}

// poll runs a worker on cfg.TaskQueue until ctx is done or it fails.
func poll(ctx context.Context, cfg Config, c client.Client, acts *activities.Activities, logger *slog.Logger) error {
	fatal := make(chan error, 1)
	w := worker.New(c, cfg.TaskQueue, worker.Options{
		MaxConcurrentActivityExecutionSize: cfg.MaxConcurrentActivities,
		MaxConcurrentWorkflowTaskPollers:   TaskPollers,
		MaxConcurrentActivityTaskPollers:   TaskPollers,
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
	workflows.RegisterActivities(w)
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

// Command webhook receives CircleCI's outbound webhooks and hands each
// completed workflow or job to its connection's sync (docs/webhooks.md). It
// needs Temporal and the signing secrets only. SIGHUP rereads the connections.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/webhook/receiver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "webhook:", err)
		os.Exit(1)
	}
}

// run dials Temporal and serves until ctx is done.
func run(ctx context.Context, stderr io.Writer, getenv func(string) string) error {
	logger, err := syncworker.LoggerFromEnv(stderr)
	if err != nil {
		return err
	}
	cfg, err := configFromEnv(getenv)
	if err != nil {
		return err
	}
	conns, err := receiver.LoadConnections(cfg.ConnectionsFile)
	if err != nil {
		return err
	}
	opts, err := syncworker.ClientOptions(logger)
	if err != nil {
		return err
	}
	c, err := syncworker.DialOptions(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	h := receiver.NewHandler(conns, receiver.Options{
		Secrets:     cfg.Secrets,
		Handoff:     receiver.Temporal{Client: c, TaskQueue: cfg.TaskQueue},
		Logger:      logger,
		MaxInFlight: cfg.MaxInFlight,
	})
	go reloadOnHangup(ctx, h, cfg.ConnectionsFile, logger)
	logger.Info("webhook receiver listening", "addr", cfg.Addr, "connections", len(conns), "task_queue", cfg.TaskQueue)
	return serve(ctx, cfg, h, logger)
}

// serve runs the receiver (and the metrics server, when apart) until ctx is
// done, then shuts them down gracefully.
func serve(ctx context.Context, cfg config, h *receiver.Handler, logger *slog.Logger) error {
	servers := []*http.Server{receiver.NewServer(cfg.Addr, receiver.NewMux(h, cfg.MetricsAddr == ""))}
	if cfg.MetricsAddr != "" {
		servers = append(servers, receiver.NewServer(cfg.MetricsAddr, receiver.MetricsMux(h)))
	}
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() { errc <- s.ListenAndServe() }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(shutdownCtx)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	logger.Info("webhook receiver stopped")
	return err
}

// reloadOnHangup rereads the connections file on SIGHUP; a bad file keeps the
// connections loaded before.
func reloadOnHangup(ctx context.Context, h *receiver.Handler, path string, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			conns, err := receiver.LoadConnections(path)
			if err != nil {
				logger.Error("connections file not reloaded", "err", err)
				continue
			}
			h.SetConnections(conns)
			logger.Info("connections reloaded", "connections", len(conns))
		}
	}
}

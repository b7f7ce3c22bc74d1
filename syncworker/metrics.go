package syncworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/metrics"
)

// EnvMetricsAddr is where the worker serves /metrics and /healthz (empty: nowhere).
const EnvMetricsAddr = "METRICS_ADDR"

// Timeouts of the metrics server.
const (
	// metricsReadHeaderTimeout bounds reading a request's headers.
	metricsReadHeaderTimeout = 10 * time.Second
	// metricsWriteTimeout bounds a response (a scrape reads the store).
	metricsWriteTimeout = 30 * time.Second
	// metricsShutdownTimeout lets requests in flight finish when stopping.
	metricsShutdownTimeout = 5 * time.Second
)

// ServeMetrics serves m at /metrics and "ok" at /healthz on addr in the background
// until ctx ends or stop (idempotent, graceful) is called; it returns the address bound.
func ServeMetrics(ctx context.Context, addr string, m *metrics.Metrics, logger *slog.Logger) (addrBound string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	return serve(ctx, "metrics endpoint", addr, mux, logger)
}

// serve serves h on addr in the background (see ServeMetrics).
func serve(ctx context.Context, what, addr string, h http.Handler, logger *slog.Logger) (addrBound string, stop func(), err error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("syncworker: %s: listen on %q: %w", what, addr, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: metricsReadHeaderTimeout,
		WriteTimeout:      metricsWriteTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	bound := ln.Addr().String()
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Error(what+" failed", "addr", bound, "error", err)
		}
	}()

	var once sync.Once
	stop = func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close()
			}
			<-served
			logger.Info(what+" stopped", "addr", bound)
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-served:
		}
	}()
	logger.Info(what+" serving", "addr", bound)
	return bound, stop, nil
}

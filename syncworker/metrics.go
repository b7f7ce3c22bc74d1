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

// EnvMetricsAddr is the address the worker serves its Prometheus metrics on
// (/metrics, and /healthz), such as ":9090" or "127.0.0.1:9090". Empty means no
// metrics endpoint.
const EnvMetricsAddr = "METRICS_ADDR"

// Timeouts of the metrics server.
const (
	// metricsReadHeaderTimeout bounds reading a request's headers.
	metricsReadHeaderTimeout = 10 * time.Second
	// metricsWriteTimeout bounds a response: a scrape reads the store within
	// metrics.DefaultStoreScrapeTimeout.
	metricsWriteTimeout = 30 * time.Second
	// metricsShutdownTimeout is how long stopping lets requests in flight finish
	// before closing their connections.
	metricsShutdownTimeout = 5 * time.Second
)

// ServeMetrics listens on addr and serves m at /metrics (the Prometheus text
// format) and a liveness answer at /healthz (200, "ok"), in the background, until
// ctx ends or stop is called. It returns the address bound (addr with the port
// chosen, for "127.0.0.1:0"), and stop, which shuts the server down gracefully
// (requests in flight get metricsShutdownTimeout) and returns when it is down; it
// may be called more than once, and concurrently. A listen failure is returned;
// a later serving failure is logged.
func ServeMetrics(ctx context.Context, addr string, m *metrics.Metrics, logger *slog.Logger) (addrBound string, stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	return serve(ctx, "metrics endpoint", addr, mux, logger)
}

// serve listens on addr and serves h in the background until ctx ends or stop is
// called (see ServeMetrics); what names the server in errors and logs.
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

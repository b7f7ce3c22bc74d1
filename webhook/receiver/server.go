package receiver

import (
	"net/http"
	"time"
)

// Server timeouts: a slow header or body is cut.
const (
	ReadHeaderTimeout = 2 * time.Second
	ReadTimeout       = 5 * time.Second
	WriteTimeout      = 5 * time.Second
	IdleTimeout       = time.Minute
	MaxHeaderBytes    = 64 << 10
)

// NewMux routes RoutePrefix to h, /healthz, and /metrics when withMetrics;
// every answer is counted by code.
func NewMux(h *Handler, withMetrics bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(RoutePrefix, h)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	if withMetrics {
		mux.Handle("/metrics", h.opts.Metrics.Handler())
	}
	return h.opts.Metrics.CountCodes(mux)
}

// MetricsMux serves /metrics alone, for a separate (private) address.
func MetricsMux(h *Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", h.opts.Metrics.Handler())
	return mux
}

// NewServer is an http.Server on addr with the receiver's timeouts.
func NewServer(addr string, handler http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

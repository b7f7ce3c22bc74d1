package syncworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/circleci-sync/circleci-sync/codec"
)

// ServeCodec listens on cfg.Addr and serves the codec server (codec.NewHTTPHandler:
// /encode, /decode, /{namespace}/encode, /{namespace}/decode) in the background
// until ctx ends or stop is called, for `temporal ... --codec-endpoint` and the
// Web UI (TEMPORAL_CODEC_ENDPOINT, the dev server's --ui-codec-endpoint). It
// returns the address bound and stop, which shuts the server down and returns
// when it is down (it may be called more than once).
func ServeCodec(ctx context.Context, c *codec.Codec, cfg codec.ServerConfig, logger *slog.Logger) (string, func(), error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return "", nil, fmt.Errorf("syncworker: codec server: listen on %q: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           codec.NewHTTPHandler(c, cfg.Handler),
		ReadHeaderTimeout: metricsReadHeaderTimeout,
		WriteTimeout:      metricsWriteTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("codec server failed", "error", err)
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), metricsShutdownTimeout)
			defer cancel()
			_ = srv.Shutdown(sctx)
			<-served
		})
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-served:
		}
	}()
	return ln.Addr().String(), stop, nil
}

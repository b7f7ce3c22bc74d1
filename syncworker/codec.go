package syncworker

import (
	"context"
	"log/slog"

	"github.com/circleci-sync/circleci-sync/codec"
)

// ServeCodec serves the codec server (codec.NewHTTPHandler) on cfg.Addr in the
// background until ctx ends or stop is called, as ServeMetrics does. It refuses
// a non-loopback address without a token (codec.ServerConfig.Check).
func ServeCodec(ctx context.Context, c *codec.Codec, cfg codec.ServerConfig, logger *slog.Logger) (string, func(), error) {
	if err := cfg.Check(); err != nil {
		logger.Error("codec server not started", "error", err)
		return "", nil, err
	}
	return serve(ctx, "codec server", cfg.Addr, codec.NewHTTPHandler(c, cfg.Handler), logger)
}

package syncworker

import (
	"context"
	"log/slog"

	"github.com/circleci-sync/circleci-sync/codec"
)

// ServeCodec listens on cfg.Addr and serves the codec server (codec.NewHTTPHandler:
// /encode, /decode, /{namespace}/encode, /{namespace}/decode) in the background
// until ctx ends or stop is called, for `temporal ... --codec-endpoint` and the
// Web UI (TEMPORAL_CODEC_ENDPOINT, the dev server's --ui-codec-endpoint). It
// returns the address bound and stop, as ServeMetrics does.
func ServeCodec(ctx context.Context, c *codec.Codec, cfg codec.ServerConfig, logger *slog.Logger) (string, func(), error) {
	return serve(ctx, "codec server", cfg.Addr, codec.NewHTTPHandler(c, cfg.Handler), logger)
}

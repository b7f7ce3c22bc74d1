package syncworker

import (
	"context"
	"fmt"
	"log/slog"

	"os"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/metrics"
)

// ClientOptions loads the Temporal client options as the Temporal CLI does
// (contrib/envconfig: TOML profile, then TEMPORAL_* variables; default
// localhost:7233). With payload encryption keys set, every payload is encrypted, so
// every client of the syncs needs the keys.
func ClientOptions(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("load the Temporal client configuration (TEMPORAL_* variables, TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): %w", err)
	}
	if logger != nil {
		opts.Logger = NewLogger(logger)
	}
	c, err := codec.FromEnv(os.LookupEnv)
	if err != nil {
		return client.Options{}, fmt.Errorf("payload encryption: %w", err)
	}
	codec.Apply(&opts, c)
	boundUpdateMessages(&opts)
	return opts, nil
}

// Dial connects to Temporal with ClientOptions, first building cfg.Metrics when
// cfg.MetricsAddr is set, and sets cfg.Namespace.
func Dial(ctx context.Context, cfg *Config, logger *slog.Logger) (client.Client, error) {
	opts, err := ClientOptions(logger)
	if err != nil {
		return nil, err
	}
	if cfg.MetricsAddr != "" && cfg.Metrics == nil {
		if cfg.Metrics, err = metrics.New(metrics.Options{Logger: logger}); err != nil {
			return nil, err
		}
	}
	if cfg.Metrics != nil {
		opts.MetricsHandler = cfg.Metrics.Temporal()
	}
	cfg.Namespace = Namespace(opts)
	return DialOptions(ctx, opts)
}

// DialOptions connects to Temporal with opts; its error says where it tried.
func DialOptions(ctx context.Context, opts client.Options) (client.Client, error) {
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s, namespace %s (set TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE; is the server running?): %w",
			HostPort(opts), Namespace(opts), err)
	}
	return c, nil
}

// HostPort is the frontend address opts dial, defaults applied.
func HostPort(opts client.Options) string {
	if opts.HostPort == "" {
		return client.DefaultHostPort
	}
	return opts.HostPort
}

// Namespace is the namespace of opts, defaults applied.
func Namespace(opts client.Options) string {
	if opts.Namespace == "" {
		return client.DefaultNamespace
	}
	return opts.Namespace
}

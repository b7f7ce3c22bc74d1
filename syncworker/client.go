package syncworker

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// ClientOptions loads the Temporal client options the way the Temporal CLI does
// (go.temporal.io/sdk/contrib/envconfig): the profile TEMPORAL_PROFILE (default
// "default") of the TOML file TEMPORAL_CONFIG_FILE (default
// ~/.config/temporalio/temporal.toml, optional), then TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS* and TEMPORAL_GRPC_META_*
// on top. Unset, the client talks to localhost:7233, namespace "default". The
// SDK's log goes to logger.
func ClientOptions(logger *slog.Logger) (client.Options, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return client.Options{}, fmt.Errorf("load the Temporal client configuration (TEMPORAL_* variables, TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): %w", err)
	}
	if logger != nil {
		opts.Logger = NewLogger(logger)
	}
	return opts, nil
}

// Dial connects to Temporal with ClientOptions(logger).
func Dial(ctx context.Context, logger *slog.Logger) (client.Client, error) {
	opts, err := ClientOptions(logger)
	if err != nil {
		return nil, err
	}
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

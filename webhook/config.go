package main

import (
	"cmp"
	"errors"
	"fmt"
	"strconv"

	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/webhook/receiver"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// The environment variables the receiver reads (Temporal's: as the worker).
const (
	EnvAddr            = "WEBHOOK_ADDR"
	EnvSecret          = "CIRCLECI_WEBHOOK_SECRET"
	EnvSecretsDir      = "CIRCLECI_WEBHOOK_SECRETS_DIR"
	EnvConnectionsFile = "WEBHOOK_CONNECTIONS_FILE"
	EnvMaxInFlight     = "WEBHOOK_MAX_IN_FLIGHT"
	DefaultAddr        = ":8088"
)

// config is the receiver's configuration.
type config struct {
	Addr            string
	MetricsAddr     string
	TaskQueue       string
	ConnectionsFile string
	Secrets         receiver.Secrets
	MaxInFlight     int
}

// configFromEnv reads the configuration through getenv.
func configFromEnv(getenv func(string) string) (config, error) {
	cfg := config{
		Addr:            cmp.Or(getenv(EnvAddr), DefaultAddr),
		MetricsAddr:     getenv(syncworker.EnvMetricsAddr),
		TaskQueue:       cmp.Or(getenv(syncworker.EnvTaskQueue), workflows.DefaultTaskQueue),
		ConnectionsFile: getenv(EnvConnectionsFile),
		Secrets:         receiver.Secrets{Global: getenv(EnvSecret), Dir: getenv(EnvSecretsDir)},
	}
	if cfg.ConnectionsFile == "" {
		return cfg, fmt.Errorf("%s is not set: a JSON file of connection id to ConnectionSync input (docs/webhooks.md)", EnvConnectionsFile)
	}
	if v := getenv(EnvMaxInFlight); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return cfg, fmt.Errorf("%s=%q: want 1 to 1000 (default %d)", EnvMaxInFlight, v, receiver.DefaultMaxInFlight)
		}
		cfg.MaxInFlight = n
	}
	if cfg.Secrets.Global == "" && cfg.Secrets.Dir == "" {
		return cfg, errors.New("no signing secret: set " + EnvSecret + " or " + EnvSecretsDir)
	}
	return cfg, nil
}

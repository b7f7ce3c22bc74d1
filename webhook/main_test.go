package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	cfg, err := configFromEnv(env(map[string]string{EnvConnectionsFile: "c.json", EnvSecret: "s"}))
	if err != nil || cfg.Addr != ":8088" || cfg.TaskQueue != "circleci-sync" || cfg.Secrets.Global != "s" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = configFromEnv(env(map[string]string{EnvConnectionsFile: "c.json", EnvSecretsDir: "/d",
		EnvAddr: "127.0.0.1:9", "CIRCLECI_SYNC_TASK_QUEUE": "q", "METRICS_ADDR": ":9090", EnvMaxInFlight: "4"}))
	if err != nil || cfg.Addr != "127.0.0.1:9" || cfg.TaskQueue != "q" || cfg.MetricsAddr != ":9090" || cfg.Secrets.Dir != "/d" ||
		cfg.MaxInFlight != 4 {
		t.Errorf("set: %+v, %v", cfg, err)
	}
	for name, m := range map[string]map[string]string{
		"no connections file": {EnvSecret: "s"},
		"no secret":           {EnvConnectionsFile: "c.json"},
		"bad max in flight":   {EnvConnectionsFile: "c.json", EnvSecret: "s", EnvMaxInFlight: "0"},
		"max in flight text":  {EnvConnectionsFile: "c.json", EnvSecret: "s", EnvMaxInFlight: "many"},
	} {
		if _, err := configFromEnv(env(m)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestRunRefusesBadConnections(t *testing.T) {
	err := run(context.Background(), io.Discard, env(map[string]string{
		EnvConnectionsFile: t.TempDir() + "/missing.json", EnvSecret: "top-secret"}))
	if err == nil || !strings.Contains(err.Error(), "connections file") || strings.Contains(err.Error(), "top-secret") {
		t.Errorf("run = %v", err)
	}
}

package syncworker

import (
	"bytes"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// env is a lookup over a map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := ConfigFromLookup(env(map[string]string{EnvRate: "", EnvTaskQueue: "  "}))
	require.NoError(t, err)
	require.Equal(t, Config{
		TaskQueue:   workflows.DefaultTaskQueue,
		DatabaseURL: store.DefaultURL,
		Limiter: circleci.LimiterOptions{
			RequestsPerSecond: circleci.DefaultRequestsPerSecond,
			Burst:             circleci.DefaultBurst,
			MaxConcurrent:     circleci.DefaultMaxConcurrent,
		},
		PageConcurrency:          activities.DefaultPageConcurrency,
		MaxConcurrentActivities:  DefaultMaxConcurrentActivities,
		StopTimeout:              30 * time.Second,
		RegisterSearchAttributes: true,
		AllowedBaseURLs:          []string{"https://circleci.com"},
		TokenEnvPattern:          regexp.MustCompile(DefaultTokenEnvPattern),
	}, cfg)
	require.Equal(t, DefaultConfig(), cfg)
}

// TestDefaultSlotsAboveOneConnection: a connection runs at most one activity per
// project child plus its parent's discovery, so even at the largest fan-out it
// leaves the default worker slots for the other connections (issue 14); fewer
// slots than the default fan-out needs are warned about.
func TestDefaultSlotsAboveOneConnection(t *testing.T) {
	require.Greater(t, DefaultMaxConcurrentActivities, workflows.MaxConcurrentProjectsLimit+1)
	require.Equal(t, DefaultMaxConcurrentActivities, DefaultConfig().MaxConcurrentActivities)
	require.Empty(t, DefaultConfig().slotsWarning())
	for slots, warn := range map[int]bool{1: true, 12: true, workflows.DefaultMaxConcurrentProjects + 1: true,
		workflows.DefaultMaxConcurrentProjects + 2: false} {
		cfg := Config{MaxConcurrentActivities: slots}
		require.Equal(t, warn, cfg.slotsWarning() != "", "%d slots", slots)
	}
	require.Contains(t, Config{MaxConcurrentActivities: 12}.slotsWarning(), EnvMaxConcurrentActivities+"=12")
}

func TestConfigFromEnv(t *testing.T) {
	for k, v := range map[string]string{
		EnvTaskQueue: "q2", EnvDatabaseURL: "postgres://u@h/db", EnvRate: "2.5", EnvBurst: "3",
		EnvMaxConcurrent: "4", EnvPageConcurrency: "5", EnvMaxConcurrentActivities: "6", EnvStopTimeout: "1m30s",
	} {
		t.Setenv(k, v)
	}
	cfg, err := ConfigFromEnv()
	require.NoError(t, err)
	require.Equal(t, Config{
		TaskQueue:                "q2",
		DatabaseURL:              "postgres://u@h/db",
		Limiter:                  circleci.LimiterOptions{RequestsPerSecond: 2.5, Burst: 3, MaxConcurrent: 4},
		PageConcurrency:          5,
		MaxConcurrentActivities:  6,
		StopTimeout:              90 * time.Second,
		RegisterSearchAttributes: true,
		AllowedBaseURLs:          []string{"https://circleci.com"},
		TokenEnvPattern:          regexp.MustCompile(DefaultTokenEnvPattern),
	}, cfg)

	t.Setenv(EnvRate, "inf")
	t.Setenv(EnvStopTimeout, "0s")
	cfg, err = ConfigFromEnv()
	require.NoError(t, err)
	require.True(t, math.IsInf(cfg.Limiter.RequestsPerSecond, 1))
	require.Zero(t, cfg.StopTimeout)
}

func TestConfigInvalid(t *testing.T) {
	for name, bad := range map[string][]string{
		EnvRate:                     {"0", "-1", "fast", "NaN"},
		EnvBurst:                    {"0", "1.5", "x"},
		EnvMaxConcurrent:            {"-3"},
		EnvPageConcurrency:          {"0"},
		EnvMaxConcurrentActivities:  {"many"},
		EnvStopTimeout:              {"30", "-1s"},
		EnvRegisterSearchAttributes: {"maybe"},
		EnvAllowedBaseURLs:          {"circleci.com", "ftp://x"},
		EnvTokenEnvPattern:          {"(unclosed"},
	} {
		for _, v := range bad {
			_, err := ConfigFromLookup(env(map[string]string{name: v}))
			require.Error(t, err, "%s=%s", name, v)
			require.Contains(t, err.Error(), name+"=")
			require.Contains(t, err.Error(), v)
		}
	}
	// Every problem at once.
	_, err := ConfigFromLookup(env(map[string]string{EnvBurst: "0", EnvStopTimeout: "soon"}))
	require.ErrorContains(t, err, EnvBurst)
	require.ErrorContains(t, err, EnvStopTimeout)
}

func TestNewSlogLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewSlogLogger(&buf, "json", "warn")
	require.NoError(t, err)
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	require.Equal(t, 1, strings.Count(buf.String(), "\n"))
	require.Contains(t, buf.String(), `"msg":"shown","k":1`)

	buf.Reset()
	l, err = NewSlogLogger(&buf, "", "")
	require.NoError(t, err)
	l.Debug("hidden")
	NewLogger(l).Info("through the SDK adapter", "task_queue", "q")
	require.Contains(t, buf.String(), `level=INFO msg="through the SDK adapter" task_queue=q`)
	require.NotContains(t, buf.String(), "hidden")

	_, err = NewSlogLogger(&buf, "xml", "")
	require.ErrorContains(t, err, EnvLogFormat)
	_, err = NewSlogLogger(&buf, "text", "loud")
	require.ErrorContains(t, err, EnvLogLevel)
}

// TestRedactDatabaseURL pins the redaction the worker's logs and errors use
// (store.RedactURL).
func TestRedactDatabaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                                  store.DefaultURL,
		"sqlite://./data/x.db":              "sqlite://./data/x.db",
		"/var/lib/x.db":                     "/var/lib/x.db",
		"postgres://u:s3cret@h:5432/db?x=1": "postgres://u:xxxxx@h:5432/db?x=1",
		"postgres://u@h/db?password=s3cret": "postgres://u@h/db?password=xxxxx",
		"host=h password=s3cret":            "host=h password=xxxxx",
		"postgresql://u:s3cret@h/db%zz":     "postgresql://u:xxxxx@h/db%zz",
	} {
		got := store.RedactURL(in)
		require.Equal(t, want, got, in)
		require.NotContains(t, got, "s3cret")
	}
}

func TestClientOptions(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	t.Setenv("TEMPORAL_PROFILE", "")
	t.Setenv("TEMPORAL_ADDRESS", "temporal.example:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "sync")
	opts, err := ClientOptions(nil)
	require.NoError(t, err)
	require.Equal(t, "temporal.example:7233", HostPort(opts))
	require.Equal(t, "sync", Namespace(opts))
	require.Nil(t, opts.ConnectionOptions.TLS)

	t.Setenv("TEMPORAL_API_KEY", "key")
	opts, err = ClientOptions(slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotNil(t, opts.Credentials)
	require.NotNil(t, opts.ConnectionOptions.TLS, "an API key turns TLS on, as in the CLI")
	require.NotNil(t, opts.Logger)

	t.Setenv("TEMPORAL_ADDRESS", "")
	t.Setenv("TEMPORAL_NAMESPACE", "")
	t.Setenv("TEMPORAL_API_KEY", "")
	opts, err = ClientOptions(nil)
	require.NoError(t, err)
	require.Equal(t, "localhost:7233", HostPort(opts))
	require.Equal(t, "default", Namespace(opts))

	t.Setenv("TEMPORAL_PROFILE", "missing")
	_, err = ClientOptions(nil)
	require.ErrorContains(t, err, "TEMPORAL_PROFILE")
}

func TestConfigMetricsCodecAndSearchAttributes(t *testing.T) {
	key, err := codec.NewKeyLine("k1")
	require.NoError(t, err)
	cfg, err := ConfigFromLookup(env(map[string]string{EnvMetricsAddr: ":9090", EnvRegisterSearchAttributes: "false",
		codec.EnvKeys: key, codec.EnvServerAddr: "127.0.0.1:0", codec.EnvCORSOrigins: "http://localhost:8080"}))
	require.NoError(t, err)
	require.Equal(t, ":9090", cfg.MetricsAddr)
	require.False(t, cfg.RegisterSearchAttributes)
	require.NotNil(t, cfg.Codec)
	require.Equal(t, []string{"k1"}, cfg.Codec.KeyIDs())
	require.Equal(t, "127.0.0.1:0", cfg.CodecServer.Addr)
	require.Equal(t, []string{"http://localhost:8080"}, cfg.CodecServer.Handler.AllowedOrigins)

	// No keys: no codec; a codec server without keys is a mistake.
	cfg, err = ConfigFromLookup(env(nil))
	require.NoError(t, err)
	require.Nil(t, cfg.Codec)
	require.Empty(t, cfg.CodecServer.Addr)
	_, err = ConfigFromLookup(env(map[string]string{codec.EnvServerAddr: ":8081"}))
	require.ErrorContains(t, err, codec.EnvKeys)
	// A bad key is reported without its material.
	_, err = ConfigFromLookup(env(map[string]string{codec.EnvKeys: "k1=c2VjcmV0LWJ1dC1zaG9ydA"}))
	require.ErrorContains(t, err, "payload encryption")
	require.NotContains(t, err.Error(), "c2VjcmV0LWJ1dC1zaG9ydA")
}

func TestConfigAllowlists(t *testing.T) {
	cfg, err := ConfigFromLookup(env(map[string]string{EnvAllowedBaseURLs: " https://circleci.example.com/ , *",
		EnvTokenEnvPattern: "^ACME_.*$"}))
	require.NoError(t, err)
	require.Equal(t, []string{"https://circleci.example.com/", "*"}, cfg.AllowedBaseURLs)
	require.True(t, cfg.TokenEnvPattern.MatchString("ACME_X"))
	def := DefaultConfig().TokenEnvPattern
	for name, want := range map[string]bool{"CIRCLECI_TOKEN": true, "ACME_CIRCLECI_TOKEN": true, "DEMO_CIRCLECI_TOKEN": true,
		"DATABASE_URL": false, "TEMPORAL_API_KEY": false, "PAYLOAD_ENCRYPTION_KEYS": false, "CIRCLECI_TOKEN_FILE": false,
		"XCIRCLECI_TOKEN": false} {
		require.Equal(t, want, def.MatchString(name), name)
	}
}

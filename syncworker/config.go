package syncworker

import (
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/metrics"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// The variables ConfigFromEnv reads (the Temporal connection's are ClientOptions').
const (
	// EnvTaskQueue is the task queue to poll (default workflows.DefaultTaskQueue).
	EnvTaskQueue = "CIRCLECI_SYNC_TASK_QUEUE"
	// EnvDatabaseURL is the store (default store.DefaultURL).
	EnvDatabaseURL = "DATABASE_URL"
	// EnvRate caps the learned pace, requests/s per token (unset: learned only;
	// "inf": no learning, only 429s and an exhausted budget slow down).
	EnvRate = "CIRCLECI_RATE"
	// EnvBurst is requests per token at once under the CIRCLECI_RATE ceiling.
	EnvBurst = "CIRCLECI_BURST"
	// EnvMaxConcurrent caps requests in flight per token.
	EnvMaxConcurrent = "CIRCLECI_MAX_CONCURRENT"
	// EnvPageConcurrency is pipelines of a page one activity fetches at once.
	EnvPageConcurrency = "CIRCLECI_PAGE_CONCURRENCY"
	// EnvPagesPerActivity caps the pipeline pages one activity covers.
	EnvPagesPerActivity = "CIRCLECI_PAGES_PER_ACTIVITY"
	// EnvMaxConcurrentActivities caps the activities run at once.
	EnvMaxConcurrentActivities = "WORKER_MAX_CONCURRENT_ACTIVITIES"
	// EnvStopTimeout is how long a stopping worker lets activities finish.
	EnvStopTimeout = "WORKER_STOP_TIMEOUT"
	// EnvRegisterSearchAttributes "false": only log the missing search attributes.
	EnvRegisterSearchAttributes = "WORKER_REGISTER_SEARCH_ATTRIBUTES"
	// EnvAllowedBaseURLs lists the base URLs tokens may go to ("*": any).
	EnvAllowedBaseURLs = "CIRCLECI_ALLOWED_BASE_URLS"
	// EnvTokenEnvPattern must match a sync's token_env.
	EnvTokenEnvPattern = "CIRCLECI_TOKEN_ENV_PATTERN"
)

// Allowlist defaults: whoever starts a workflow names the base URL and the token's
// variable, so the worker sends only CircleCI tokens, only to a known CircleCI.
const (
	// DefaultAllowedBaseURLs is CircleCI cloud.
	DefaultAllowedBaseURLs = "https://circleci.com"
	// DefaultTokenEnvPattern accepts CIRCLECI_TOKEN and <NAME>_CIRCLECI_TOKEN.
	DefaultTokenEnvPattern = `^([A-Za-z0-9_]+_)?CIRCLECI_TOKEN$`
)

// Worker defaults.
const (
	// DefaultMaxConcurrentActivities is sized for I/O-bound activities (they wait on
	// CircleCI and the token's limiter): above one connection's largest fan-out
	// (a child's activity per project plus the parent's), so that one connection
	// cannot hold every slot and fairness has a slot to give (docs/scaling.md).
	DefaultMaxConcurrentActivities = 128
	// DefaultStopTimeout is EnvStopTimeout's default.
	DefaultStopTimeout = 30 * time.Second
	// TaskPollers is how many workflow and how many activity task polls the
	// worker keeps open (the SDK's default is 2): with 2, a fleet's project
	// children waited about 1.5 s per workflow task (docs/scaling.md).
	TaskPollers = 8
)

// Config is the worker's configuration, apart from the Temporal connection.
type Config struct {
	// TaskQueue is the task queue polled.
	TaskQueue string
	// DatabaseURL is the store the activities write to (see store.Open).
	DatabaseURL string
	// Limiter paces the CircleCI requests of each token (see circleci.Limiter).
	Limiter circleci.LimiterOptions
	// PageConcurrency is how many pipelines of a page an activity fetches at once.
	PageConcurrency int
	// PagesPerActivity, when above zero, caps the pages one activity covers.
	PagesPerActivity int
	// MaxConcurrentActivities caps the activities run at once.
	MaxConcurrentActivities int
	// ReportEvery is the slot a long activity reports its figures to its
	// workflow in, at most once (0: activities.DefaultReportEvery).
	ReportEvery time.Duration
	// StopTimeout is how long a stopping worker lets running activities finish.
	StopTimeout time.Duration
	// MetricsAddr serves the metrics (EnvMetricsAddr; empty: none).
	MetricsAddr string
	// RegisterSearchAttributes adds the missing search attributes.
	RegisterSearchAttributes bool
	// AllowedBaseURLs are the base URLs tokens may go to.
	AllowedBaseURLs []string
	// TokenEnvPattern must match a sync's token_env (EnvTokenEnvPattern).
	TokenEnvPattern *regexp.Regexp
	// Codec encrypts payloads (package codec's variables); nil means off.
	Codec *codec.Codec
	// CodecServer, with its Addr set, serves the codec server; it needs Codec.
	CodecServer codec.ServerConfig

	// Set by Dial (or a test), not from the environment:

	// Namespace is the Temporal namespace ("" is "default").
	Namespace string
	// Metrics collects the worker's metrics.
	Metrics *metrics.Metrics
}

// DefaultConfig returns the configuration used when no variable is set.
func DefaultConfig() Config {
	return Config{
		TaskQueue:   workflows.DefaultTaskQueue,
		DatabaseURL: store.DefaultURL,
		Limiter: circleci.LimiterOptions{
			RequestsPerSecond: circleci.DefaultRequestsPerSecond,
			Burst:             circleci.DefaultBurst,
			MaxConcurrent:     circleci.DefaultMaxConcurrent,
		},
		PageConcurrency:          activities.DefaultPageConcurrency,
		MaxConcurrentActivities:  DefaultMaxConcurrentActivities,
		StopTimeout:              DefaultStopTimeout,
		RegisterSearchAttributes: true,
		AllowedBaseURLs:          []string{DefaultAllowedBaseURLs},
		TokenEnvPattern:          regexp.MustCompile(DefaultTokenEnvPattern),
	}
}

// slotsWarning warns when one connection at the default fan-out (its children's
// activities and its parent's) can hold every activity slot: fairness then has no
// slot to give the other connections until one frees (docs/operations.md).
func (c Config) slotsWarning() string {
	if c.MaxConcurrentActivities > workflows.DefaultMaxConcurrentProjects+1 {
		return ""
	}
	return fmt.Sprintf("%s=%d: one connection syncing %d projects at once (the default) can hold every "+
		"activity slot, and the other connections' activities wait for one to free",
		EnvMaxConcurrentActivities, c.MaxConcurrentActivities, workflows.DefaultMaxConcurrentProjects)
}

// ConfigFromEnv reads the configuration from the Env* variables over DefaultConfig; a
// bad value is an error naming its variable.
func ConfigFromEnv() (Config, error) {
	return ConfigFromLookup(os.LookupEnv)
}

// ConfigFromLookup is ConfigFromEnv with another source of variables.
func ConfigFromLookup(lookup func(string) (string, bool)) (Config, error) {
	cfg := DefaultConfig()
	e := &envReader{lookup: lookup}
	e.str(EnvTaskQueue, &cfg.TaskQueue)
	e.str(EnvDatabaseURL, &cfg.DatabaseURL)
	e.rate(EnvRate, &cfg.Limiter.RequestsPerSecond)
	e.positiveInt(EnvBurst, &cfg.Limiter.Burst, "requests per token at once after an idle spell")
	e.positiveInt(EnvMaxConcurrent, &cfg.Limiter.MaxConcurrent, "CircleCI requests in flight per token")
	e.positiveInt(EnvPageConcurrency, &cfg.PageConcurrency, "pipelines of a page fetched at once")
	e.positiveInt(EnvPagesPerActivity, &cfg.PagesPerActivity, "pipeline pages one activity covers")
	e.positiveInt(EnvMaxConcurrentActivities, &cfg.MaxConcurrentActivities, "activities run at once")
	e.duration(EnvStopTimeout, &cfg.StopTimeout)
	e.str(EnvMetricsAddr, &cfg.MetricsAddr)
	e.boolean(EnvRegisterSearchAttributes, &cfg.RegisterSearchAttributes)
	if v, ok := e.get(EnvAllowedBaseURLs); ok {
		cfg.AllowedBaseURLs = e.baseURLs(v)
	}
	if v, ok := e.get(EnvTokenEnvPattern); ok {
		re, err := regexp.Compile(v)
		if err != nil {
			e.bad("%s=%q: not a regular expression: %v", EnvTokenEnvPattern, v, err)
		}
		cfg.TokenEnvPattern = re
	}
	cfg.Codec, cfg.CodecServer = e.codec()
	if len(e.problems) > 0 {
		return Config{}, fmt.Errorf("worker configuration: %s", strings.Join(e.problems, "; "))
	}
	return cfg, nil
}

// envReader reads variables, collecting every problem so that one error lists them all.
type envReader struct {
	lookup   func(string) (string, bool)
	problems []string
}

// get returns a variable's trimmed value; unset and empty are alike.
func (e *envReader) get(name string) (string, bool) {
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

func (e *envReader) bad(format string, args ...any) {
	e.problems = append(e.problems, fmt.Sprintf(format, args...))
}

func (e *envReader) str(name string, dst *string) {
	if v, ok := e.get(name); ok {
		*dst = v
	}
}

func (e *envReader) rate(name string, dst *float64) {
	v, ok := e.get(name)
	if !ok {
		return
	}
	r, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(r) || r <= 0 {
		e.bad("%s=%q: want a positive number of requests per second (or \"inf\")", name, v)
		return
	}
	*dst = r
}

func (e *envReader) positiveInt(name string, dst *int, what string) {
	v, ok := e.get(name)
	if !ok {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		e.bad("%s=%q: want a whole number of at least 1 (%s)", name, v, what)
		return
	}
	*dst = n
}

func (e *envReader) duration(name string, dst *time.Duration) {
	v, ok := e.get(name)
	if !ok {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.bad("%s=%q: want a duration such as \"30s\" or \"2m\"", name, v)
		return
	}
	*dst = d
}

func (e *envReader) boolean(name string, dst *bool) {
	v, ok := e.get(name)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.bad("%s=%q: want true or false", name, v)
	}
	*dst = b
}

// baseURLs parses EnvAllowedBaseURLs: http(s) base URLs or activities.AnyBaseURL.
func (e *envReader) baseURLs(v string) []string {
	var urls []string
	for u := range strings.SplitSeq(v, ",") {
		u = strings.TrimSpace(u)
		switch {
		case u == "":
		case u == activities.AnyBaseURL:
			urls = append(urls, u)
		default:
			if p, err := url.Parse(u); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
				e.bad("%s=%q: %q is not an http(s) base URL", EnvAllowedBaseURLs, v, u)
				continue
			}
			urls = append(urls, u)
		}
	}
	return urls
}

// codec reads the payload encryption keys and the codec server, which needs them.
func (e *envReader) codec() (*codec.Codec, codec.ServerConfig) {
	c, err := codec.FromEnv(e.lookup)
	if err != nil {
		e.bad("payload encryption: %s", err)
	}
	var sc codec.ServerConfig
	if addr, ok := e.get(codec.EnvServerAddr); ok {
		s, err := codec.ServerConfigFromEnv(e.lookup)
		switch {
		case err != nil:
			e.bad("codec server: %s", err)
		case c == nil:
			e.bad("%s=%q: the codec server needs payload encryption keys (%s or %s)",
				codec.EnvServerAddr, addr, codec.EnvKeys, codec.EnvKeysFile)
		default:
			sc = s
		}
	}
	return c, sc
}

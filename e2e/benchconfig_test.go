package e2e

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/syncworker"
)

// benchConfig is what the sync benchmark runs: the dataset, the two settings,
// the backends. benchConfigFromEnv reads it from BENCH_* variables.
type benchConfig struct {
	// Projects and PipelinesPerProject size the fake's dataset (default
	// workflows and jobs per pipeline, no unreachable entities).
	Projects, PipelinesPerProject int
	// Seed is the fake's seed; 0 means the first seed from 1 whose Advance
	// reruns a pipeline the default rerun window reaches (benchSeed).
	Seed int64
	// Latency is the fake's latency in the latency-bound setting; Concurrency
	// the worker's CIRCLECI_MAX_CONCURRENT there (C).
	Latency     time.Duration
	Concurrency int
	// Rate is the budget-bound setting's R (the fake's bucket and the worker's
	// CIRCLECI_RATE), Burst the worker's CIRCLECI_BURST and BudgetLatency the
	// fake's latency there.
	Rate          float64
	Burst         int
	BudgetLatency time.Duration
	// Settings and Backends are the settings ("latency", "budget") and the
	// backends ("sqlite", "postgres") run.
	Settings, Backends []string
	// Baseline runs the plain-loop baseline in the latency-bound setting.
	Baseline bool
	// FiveX runs the latency-bound sync on FiveXBackend (sqlite) on a dataset
	// FiveXFactor times larger (RSS flatness).
	FiveX        bool
	FiveXFactor  int
	FiveXBackend string
	// RepairSweep runs the repair pass and rerun_window sweep on the first backend.
	RepairSweep bool
	// Advance is how the fake moves before the last incremental sync.
	Advance circlecitest.Advance
	// StoreResults is the output of the store benchmarks (make bench writes
	// it), for BenchmarkWriteBatch's rows/s; "" for none.
	StoreResults string
}

// defaultBenchConfig is the full benchmark: 10 projects × 200 pipelines.
func defaultBenchConfig() benchConfig {
	return benchConfig{
		Projects: 10, PipelinesPerProject: 200,
		Latency: 30 * time.Millisecond, Concurrency: circleci.DefaultMaxConcurrent,
		Rate: 40, Burst: 5, BudgetLatency: 5 * time.Millisecond,
		Settings: []string{"latency", "budget"}, Backends: []string{"sqlite", "postgres"},
		Baseline: true, FiveX: true, FiveXFactor: 5, FiveXBackend: "sqlite", RepairSweep: true,
		Advance: circlecitest.Advance{NewPipelines: 20, FinishRunning: true, Reruns: 1},
	}
}

// benchConfigFromEnv is defaultBenchConfig changed by the variables
// BENCH_PROJECTS, BENCH_PIPELINES (per project), BENCH_SEED, BENCH_LATENCY,
// BENCH_CONCURRENCY, BENCH_RATE, BENCH_BURST, BENCH_BUDGET_LATENCY,
// BENCH_SETTINGS (latency,budget), BENCH_BACKENDS (sqlite,postgres),
// BENCH_SKIP_BASELINE=1, BENCH_SKIP_5X=1, BENCH_SKIP_REPAIR=1, BENCH_5X_BACKEND (sqlite or
// postgres), BENCH_NEW_PIPELINES and BENCH_STORE_RESULTS.
func benchConfigFromEnv() (benchConfig, error) {
	c := defaultBenchConfig()
	var problems []string
	intVar := func(name string, dst *int, minimum int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < minimum {
				problems = append(problems, fmt.Sprintf("%s=%q: want a whole number of at least %d", name, v, minimum))
				return
			}
			*dst = n
		}
	}
	durVar := func(name string, dst *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				problems = append(problems, fmt.Sprintf("%s=%q: want a duration such as 30ms", name, v))
				return
			}
			*dst = d
		}
	}
	listVar := func(name string, dst *[]string, allowed ...string) {
		v := os.Getenv(name)
		if v == "" {
			return
		}
		var out []string
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			ok := false
			for _, a := range allowed {
				ok = ok || s == a
			}
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %q is not one of %v", name, s, allowed))
				continue
			}
			out = append(out, s)
		}
		*dst = out
	}
	intVar("BENCH_PROJECTS", &c.Projects, 1)
	intVar("BENCH_PIPELINES", &c.PipelinesPerProject, 1)
	intVar("BENCH_CONCURRENCY", &c.Concurrency, 1)
	intVar("BENCH_BURST", &c.Burst, 1)
	intVar("BENCH_NEW_PIPELINES", &c.Advance.NewPipelines, 0)
	var seed int
	intVar("BENCH_SEED", &seed, 0)
	c.Seed = int64(seed)
	durVar("BENCH_LATENCY", &c.Latency)
	durVar("BENCH_BUDGET_LATENCY", &c.BudgetLatency)
	if v := os.Getenv("BENCH_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0) || math.IsInf(r, 0) {
			problems = append(problems, fmt.Sprintf("BENCH_RATE=%q: want a positive number of requests/s", v))
		} else {
			c.Rate = r
		}
	}
	listVar("BENCH_SETTINGS", &c.Settings, "latency", "budget")
	listVar("BENCH_BACKENDS", &c.Backends, "sqlite", "postgres")
	c.Baseline = os.Getenv("BENCH_SKIP_BASELINE") != "1"
	c.FiveX = os.Getenv("BENCH_SKIP_5X") != "1"
	c.RepairSweep = os.Getenv("BENCH_SKIP_REPAIR") != "1"
	if v := os.Getenv("BENCH_5X_BACKEND"); v != "" {
		if v != "sqlite" && v != "postgres" {
			problems = append(problems, fmt.Sprintf("BENCH_5X_BACKEND=%q: want sqlite or postgres", v))
		}
		c.FiveXBackend = v
	}
	c.StoreResults = os.Getenv("BENCH_STORE_RESULTS")
	if len(problems) > 0 {
		return c, fmt.Errorf("benchmark configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// benchSetting is one of the two settings a sync is measured in.
type benchSetting struct {
	// Key is "latency" or "budget"; Name the printed name.
	Key, Name string
	// Faults are the fake's.
	Faults circlecitest.Faults
	// WorkerEnv are the worker's pacing variables.
	WorkerEnv []string
	// Limiter is the same pacing as circleci.LimiterOptions (the baseline's).
	Limiter circleci.LimiterOptions
	// Ideal is the best achievable request rate, IdealText how it is derived.
	Ideal     float64
	IdealText string
}

// settings returns the settings c runs, in order.
func (c benchConfig) settings() []benchSetting {
	var out []benchSetting
	for _, key := range c.Settings {
		switch key {
		case "latency":
			out = append(out, c.latencySetting())
		case "budget":
			out = append(out, c.budgetSetting())
		}
	}
	return out
}

// latencySetting: fake latency, no bucket; the worker unpaced but for its
// concurrency cap C. The ideal rate is C / latency.
func (c benchConfig) latencySetting() benchSetting {
	ideal := math.Inf(1)
	if c.Latency > 0 {
		ideal = float64(c.Concurrency) / c.Latency.Seconds()
	}
	return benchSetting{
		Key: "latency", Name: "latency-bound",
		Faults: circlecitest.Faults{Latency: c.Latency},
		WorkerEnv: []string{
			syncworker.EnvRate + "=inf",
			syncworker.EnvMaxConcurrent + "=" + strconv.Itoa(c.Concurrency),
		},
		Limiter: circleci.LimiterOptions{RequestsPerSecond: math.Inf(1), Burst: circleci.DefaultBurst,
			MaxConcurrent: c.Concurrency},
		Ideal:     ideal,
		IdealText: fmt.Sprintf("C/latency = %d/%s", c.Concurrency, c.Latency),
	}
}

// budgetSetting: the fake's bucket at R (burst R) and the worker paced at R
// with a small burst. The ideal rate is R.
func (c benchConfig) budgetSetting() benchSetting {
	r := strconv.FormatFloat(c.Rate, 'f', -1, 64)
	return benchSetting{
		Key: "budget", Name: "budget-bound",
		Faults: circlecitest.Faults{Latency: c.BudgetLatency, RateLimit: c.Rate, RateBurst: int(math.Ceil(c.Rate))},
		WorkerEnv: []string{
			syncworker.EnvRate + "=" + r,
			syncworker.EnvBurst + "=" + strconv.Itoa(c.Burst),
			syncworker.EnvMaxConcurrent + "=" + strconv.Itoa(c.Concurrency),
		},
		Limiter: circleci.LimiterOptions{RequestsPerSecond: c.Rate, Burst: c.Burst, MaxConcurrent: c.Concurrency},
		Ideal:   c.Rate,
		IdealText: fmt.Sprintf("R = %s/s (fake bucket %s/s, burst %d; worker burst %d; latency %s)", r, r,
			int(math.Ceil(c.Rate)), c.Burst, c.BudgetLatency),
	}
}

// datasetOptionsFor returns the fake's options for the benchmark's dataset with
// pipelines per project, the seed and faults: default workflows and jobs per
// pipeline, no unreachable entities, the dataset clock at the wall clock (so
// that the rerun window, measured on the worker's clock, means something).
func (c benchConfig) datasetOptionsFor(pipelines int, seed int64, faults circlecitest.Faults) circlecitest.Options {
	return circlecitest.Options{
		Seed: seed, Projects: c.Projects, PipelinesPerProject: pipelines,
		Now: time.Now().UTC().Truncate(time.Second), Token: newToken(), Faults: faults,
	}
}

// workerPageConcurrency is the worker's CIRCLECI_PAGE_CONCURRENCY in the
// benchmark (its default), which the baseline mirrors.
const workerPageConcurrency = activities.DefaultPageConcurrency

package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// rerunMargin is how much younger than the default rerun window the rerun
// pipelines of the benchmark's dataset must be (the benchmark runs for
// minutes after the dataset clock is set).
const rerunMargin = 2 * time.Hour

// BenchmarkSync measures full and incremental syncs through Temporal: the
// worker command as a process, a Temporal dev server, the fake CircleCI over
// HTTP in this process, on SQLite and PostgreSQL, in a latency-bound and a
// budget-bound setting, against a plain-loop baseline, and the worker's RSS on
// a 5x dataset. It prints the figures and the targets (PASS/MISS, not
// asserted); it fails only when a sync fails or stores something else than
// the fake's Expected. Run it once: `make bench`, or
//
//	TEST_DATABASE_URL=... go test -run '^$' -bench '^BenchmarkSync$' -benchtime 1x -timeout 60m ./e2e/
//
// benchConfigFromEnv lists the BENCH_* variables that shorten it.
func BenchmarkSync(b *testing.B) {
	cfg, err := benchConfigFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	out := os.Stdout
	if slices.Contains(cfg.Backends, "postgres") && !havePostgres() {
		fmt.Fprintln(out, "PostgreSQL skipped: TEST_DATABASE_URL is unset (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
		cfg.Backends = slices.DeleteFunc(slices.Clone(cfg.Backends), func(s string) bool { return s == "postgres" })
	}
	began := time.Now()
	ctx := context.Background()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %6.1fs: "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	bin := buildWorker(b)
	tsrv := testenv.StartTemporal(b, testenv.DevServerOptions{})
	seed := cfg.Seed
	if seed == 0 {
		progress("choosing the seed (the first whose Advance reruns a pipeline within %s)...",
			workflows.DefaultRerunWindow-rerunMargin)
		opts := cfg.datasetOptionsFor(cfg.PipelinesPerProject, 0, circlecitest.Faults{})
		if seed, err = benchSeed(opts, cfg.Advance, workflows.DefaultRerunWindow-rerunMargin); err != nil {
			b.Fatal(err)
		}
	}
	runner := &benchRunner{tb: b, cfg: cfg, tsrv: tsrv, bin: bin, seed: seed, progress: progress}
	rep := &benchReport{w: out}
	rep.printf("circleci-sync sync benchmark (%s, %d CPUs)\n", time.Now().UTC().Format(time.RFC3339), runtime.NumCPU())
	dsOpts := cfg.datasetOptionsFor(cfg.PipelinesPerProject, seed, circlecitest.Faults{})
	probe := circlecitest.NewHandler(dsOpts)
	rep.dataset("dataset", probe.Expected(probe.Token()), seed, cfg.PipelinesPerProject)

	latency := map[string]*scenarioResult{} // the latency-bound results by backend
	for _, set := range cfg.settings() {
		for _, backend := range cfg.Backends {
			res, err := runner.scenario(ctx, set, backend, cfg.PipelinesPerProject, scenarioOptions{
				Incrementals: true, Baseline: cfg.Baseline && set.Key == "latency", CompareTables: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			rep.scenario(res)
			checkCorrect(b, res)
			if set.Key == "latency" {
				latency[backend] = &res
			}
		}
	}
	if cfg.FiveX {
		if small := latency[cfg.FiveXBackend]; small == nil {
			rep.printf("\nRSS flatness skipped: it compares with the latency-bound sync on %s, which did not run\n",
				cfg.FiveXBackend)
		} else {
			large := cfg.PipelinesPerProject * cfg.FiveXFactor
			res, err := runner.scenario(ctx, cfg.latencySetting(), cfg.FiveXBackend, large, scenarioOptions{})
			if err != nil {
				b.Fatal(err)
			}
			rep.fiveX(*small, res)
			if !countsEqual(res.RowsByTable, res.Expected) {
				b.Errorf("5x sync: the row counts differ from Expected's")
			}
		}
	}
	if cfg.RepairSweep && len(cfg.Backends) > 0 {
		rows, err := runner.repairSweep(ctx, cfg.Backends[0])
		if err != nil {
			b.Fatal(err)
		}
		rep.repairSweep(cfg.Backends[0], rows)
	}
	if cfg.StoreResults != "" {
		rep.storeBench(cfg.StoreResults)
	}
	rep.printSummary()
	rep.printf("\nbenchmark took %s\n", time.Since(began).Round(time.Second))
}

// checkCorrect fails tb when a sync of res stored something else than Expected.
func checkCorrect(tb testing.TB, res scenarioResult) {
	tb.Helper()
	name := res.Setting.Name + "/" + res.Backend
	if res.FullTables != nil && !res.FullTables.clean() {
		tb.Errorf("%s: after the full sync the tables differ from Expected:\n%s", name, res.FullTables)
	}
	for _, inc := range res.Incrementals {
		if !inc.Tables.clean() {
			tb.Errorf("%s: after the %s the tables differ from Expected:\n%s", name, inc.Label, inc.Tables)
		}
	}
	if b := res.Baseline; b != nil && !b.Tables.clean() {
		tb.Errorf("%s: after the baseline the tables differ from Expected:\n%s", name, b.Tables)
	}
}

// quickBenchConfig is the benchmark's smoke configuration: a tiny dataset, the
// latency-bound setting only, with the baseline, no 5x run.
func quickBenchConfig() benchConfig {
	c := defaultBenchConfig()
	c.Projects, c.PipelinesPerProject = 3, 25
	c.Latency = 2 * time.Millisecond
	c.Settings = []string{"latency"}
	c.FiveX = false
	c.Advance = circlecitest.Advance{NewPipelines: 6, FinishRunning: true, Reruns: 1}
	return c
}

// TestBenchQuick runs the sync benchmark's harness on a tiny dataset (3
// projects × 25 pipelines, 2 ms latency), so that it never rots: the full sync,
// the two no-change incremental syncs, the one after an Advance, and the
// baseline, on each backend. It asserts correctness and counts only, never
// timings:
//
//   - after every sync, and after the baseline, the tables equal the fake's
//     Expected (every row compared);
//   - the baseline makes exactly MinimumRequests.Total requests;
//   - apart from GET /user/{id}, the full sync makes at most
//     floor(1.02 × (MinimumRequests.Total - MinimumRequests.Users)) + D + V
//     requests, where D is the requests it made on the verification and
//     discovery routes (/me, /me/collaborations, v1.1 /projects, the org
//     pipeline list) and V the number of connections (verification's one
//     project pipeline page each); and D is at most 5 per connection
//     (verification: org pipelines, /me, /me/collaborations, followed projects;
//     discovery: followed projects) plus every org pipeline page (a first
//     discovery reads them all);
//   - it makes at most V × MinimumRequests.Users GET /user/{id}: each
//     connection resolves its own users, and two connections resolving at once
//     both fetch the users neither has stored yet (seen: 24 for 12 users), a
//     known inefficiency the benchmark reports rather than this test;
//   - each incremental sync makes fewer requests than the full sync.
func TestBenchQuick(t *testing.T) {
	cfg := quickBenchConfig()
	tsrv := startTemporal(t)
	bin := buildWorker(t)
	seed, err := benchSeed(cfg.datasetOptionsFor(cfg.PipelinesPerProject, 0, circlecitest.Faults{}), cfg.Advance,
		workflows.DefaultRerunWindow-rerunMargin)
	require.NoError(t, err)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			runner := &benchRunner{tb: t, cfg: cfg, tsrv: tsrv, bin: bin, seed: seed, progress: t.Logf}
			res, err := runner.scenario(t.Context(), cfg.latencySetting(), b.name, cfg.PipelinesPerProject,
				scenarioOptions{Incrementals: true, Baseline: true, CompareTables: true})
			require.NoError(t, err)
			var buf strings.Builder
			rep := &benchReport{w: &buf}
			rep.scenario(res)
			t.Logf("figures (timings not asserted):\n%s", buf.String())

			checkCorrect(t, res)
			ex := res.Expected
			m := ex.MinimumRequests.Total
			require.NotNil(t, res.Baseline)
			require.Equal(t, int64(m), res.Baseline.Stats.Total, "the baseline makes exactly the minimum")

			connections := len(orgsOf(ex))
			var disc int64
			for _, k := range discoveryRoutes {
				disc += res.Full.Stats.Count(k, 0)
			}
			orgPages := 0
			perOrg := map[string]int{}
			for _, p := range ex.Pipelines {
				for _, proj := range ex.Projects {
					if proj.Slug == p.ProjectSlug {
						perOrg[proj.OrganizationSlug]++
					}
				}
			}
			for _, org := range orgsOf(ex) {
				orgPages += pagesOf(perOrg[org])
			}
			maxDisc := int64(5*connections + orgPages)
			users := res.Full.Stats.Count(circlecitest.RouteUser, 0)
			u := ex.MinimumRequests.Users
			allowed := int64(math.Floor(targetRequestRatio*float64(m-u))) + disc + int64(connections)
			t.Logf("full sync: %d requests, %d of them users; allowed floor(1.02 × (%d - %d)) + %d (discovery routes) + "+
				"%d (connections) = %d besides the users, and %d × %d users; discovery routes at most 5 × %d + %d org "+
				"pipeline pages = %d", res.Full.Stats.Total, users, m, u, disc, connections, allowed, connections, u,
				connections, orgPages, maxDisc)
			require.LessOrEqual(t, disc, maxDisc, "requests on the verification and discovery routes")
			require.LessOrEqual(t, res.Full.Stats.Total-users, allowed, "full-sync requests besides GET /user/{id}")
			require.LessOrEqual(t, users, int64(connections*u), "GET /user/{id} requests")
			for _, inc := range res.Incrementals {
				require.Less(t, inc.Run.Stats.Total, res.Full.Stats.Total, "%s: fewer requests than the full sync", inc.Label)
			}
		})
	}
}

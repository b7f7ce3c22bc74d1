package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// fleetConfig sizes BenchmarkFleet (BENCH_FLEET_* variables).
type fleetConfig struct {
	Projects, Pipelines int
	// Connections of Projects/Connections listed projects each; 0: one per
	// organisation, its projects discovered.
	Connections, Workers int
	// FanOut is max_concurrent_projects (0: the default); RerunWindow < 0: the default.
	FanOut      int
	RerunWindow time.Duration
	// Steps of activity before the incremental cycle.
	Steps int
	// OneOrg puts every project in one organisation (with Connections 0: one connection).
	OneOrg bool
}

func fleetConfigFromEnv() fleetConfig {
	return fleetConfig{Projects: envInt("BENCH_FLEET_PROJECTS", 500), Pipelines: envInt("BENCH_FLEET_PIPELINES", 40),
		Connections: envInt("BENCH_FLEET_CONNECTIONS", 50), Workers: envInt("BENCH_FLEET_WORKERS", 3),
		FanOut: envInt("BENCH_FLEET_FANOUT", 0), Steps: envInt("BENCH_FLEET_STEPS", 3),
		RerunWindow: time.Duration(envInt("BENCH_FLEET_RERUN_WINDOW_HOURS", -1)) * time.Hour,
		OneOrg:      envInt("BENCH_FLEET_ONE_ORG", 0) == 1}
}

// fleetStep is one step of activity: new pipelines, the running ones finished, reruns.
func fleetStep(cfg fleetConfig) circlecitest.Advance {
	return circlecitest.Advance{NewPipelines: max(cfg.Projects/5, 1), FinishRunning: true, Reruns: 5, Step: time.Hour}
}

// BenchmarkFleet syncs one dataset of BENCH_FLEET_PROJECTS projects ×
// BENCH_FLEET_PIPELINES pipelines as BENCH_FLEET_CONNECTIONS connections on
// BENCH_FLEET_WORKERS worker processes and one dev server (PostgreSQL when
// TEST_DATABASE_URL is set, else SQLite): a full sync, BENCH_FLEET_STEPS steps
// of activity, then an incremental cycle; it prints figures, asserts none.
//
//	go test ./e2e/ -run '^$' -bench BenchmarkFleet -benchtime 1x -timeout 2h
func BenchmarkFleet(b *testing.B) {
	cfg := fleetConfigFromEnv()
	began := time.Now()
	progress := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "fleet %6.1fs: "+format+"\n", append([]any{time.Since(began).Seconds()}, args...)...)
	}
	progress("generating %d projects × %d pipelines...", cfg.Projects, cfg.Pipelines)
	// The dataset clock stays behind the worker's after the steps, so the
	// rerun window (measured on the worker's clock) holds the reruns.
	now := time.Now().UTC().Truncate(time.Second).Add(-time.Duration(cfg.Steps+1) * time.Hour)
	fake := circlecitest.NewServer(circlecitest.Options{Seed: 23, Projects: cfg.Projects,
		PipelinesPerProject: cfg.Pipelines, Users: 20, Now: now, Token: newToken(), OneOrg: cfg.OneOrg})
	b.Cleanup(fake.Close)
	f := &fleetRun{cfg: cfg, fake: fake, progress: progress, dbURL: fleetDatabaseURL(b)}
	f.start(b)
	ctx := context.Background()
	full := f.sync(ctx, b, "full sync")
	var adv circlecitest.AdvanceResult
	for range cfg.Steps {
		r := fake.Advance(fleetStep(cfg))
		adv.NewPipelines = append(adv.NewPipelines, r.NewPipelines...)
		adv.RerunWorkflows = append(adv.RerunWorkflows, r.RerunWorkflows...)
	}
	minimum, err := incrementalMinimum(ctx, f.dbURL, fake.Dataset(), fake.Expected(fake.Token()), time.Now(),
		f.rerunWindow(), workflows.DefaultOverlap, adv.NewPipelines, adv.RerunWorkflows)
	if err != nil {
		b.Fatal(err)
	}
	cycle := f.sync(ctx, b, "incremental cycle")
	f.report(os.Stdout, full, cycle, minimum, len(adv.NewPipelines))
}

// fleetDatabaseURL is a fresh PostgreSQL database when TEST_DATABASE_URL is
// set, else a SQLite file.
func fleetDatabaseURL(b *testing.B) string {
	if havePostgres() {
		return testenv.PostgresURL(b)
	}
	return testenv.SQLiteURL(b)
}

// fleetInputs are the connections: cfg.Connections of listed projects, or one
// per organisation, discovered.
func fleetInputs(cfg fleetConfig, ex circlecitest.Expected, url, tokenEnv string) []workflows.ConnectionSyncInput {
	byOrg := map[string][]string{}
	for _, p := range ex.Projects {
		org := orgOf(p.Slug)
		byOrg[org] = append(byOrg[org], p.Slug)
	}
	var ins []workflows.ConnectionSyncInput
	for _, org := range slices.Sorted(maps.Keys(byOrg)) {
		slugs := byOrg[org]
		per := len(slugs)
		if cfg.Connections > 0 {
			per = max(1, cfg.Projects/cfg.Connections)
		}
		for chunk := range slices.Chunk(slugs, per) {
			in := workflows.ConnectionSyncInput{ConnectionID: fmt.Sprintf("fleet-%d", len(ins)+1), OrgSlug: org,
				BaseURL: url, TokenEnv: tokenEnv, MaxConcurrentProjects: cfg.FanOut}
			if cfg.Connections > 0 {
				in.Projects = slices.Clone(chunk)
			}
			if cfg.RerunWindow >= 0 {
				w := workflows.Duration(cfg.RerunWindow)
				in.RerunWindow = &w
			}
			ins = append(ins, in)
		}
	}
	return ins
}

// orgOf is a project slug's organisation: "gh/acme/api" → "gh/acme".
func orgOf(slug string) string {
	parts := strings.SplitN(slug, "/", 3)
	return parts[0] + "/" + parts[1]
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// BenchmarkOrgScale syncs one organisation of BENCH_SCALE_PROJECTS projects
// (default 10,000; BENCH_SCALE_PIPELINES pipelines each, default none) with the
// worker command as a process, a dev server with the default history limits and
// SQLite, and prints the wall time, the requests, the largest histories and the
// largest continue-as-new input. Run it alone:
//
//	go test ./e2e/ -run '^$' -bench BenchmarkOrgScale -benchtime 1x -timeout 3h
func BenchmarkOrgScale(b *testing.B) {
	n := envInt("BENCH_SCALE_PROJECTS", 10_000)
	opts := circlecitest.Options{Seed: 17, Projects: 3 * n, PipelinesPerProject: envInt("BENCH_SCALE_PIPELINES", -1),
		Users: 3, Now: time.Now().UTC().Truncate(time.Second), Token: newToken()}
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "scale: "+format+"\n", args...) }
	bin := buildWorker(b)
	tsrv := testenv.StartTemporal(b, testenv.DevServerOptions{})
	fake := circlecitest.NewServer(opts)
	b.Cleanup(fake.Close)
	dbURL := testenv.SQLiteURL(b)
	tokenEnv := newEnvName("TOKEN")
	tq := newID("bench-scale")
	proc := startPollingWorker(b, bin, workerEnv(tsrv, tq, dbURL, tokenEnv, fake.Token(),
		"CIRCLECI_RATE=2000", "CIRCLECI_BURST=500", "CIRCLECI_MAX_CONCURRENT=64"))
	defer proc.stop(b)
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	in := workflows.ConnectionSyncInput{ConnectionID: newID("scale"), OrgSlug: "gh/acme", BaseURL: fake.URL,
		TokenEnv: tokenEnv, MaxConcurrentProjects: workflows.MaxConcurrentProjectsLimit}

	progress("syncing %d projects of gh/acme...", n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Hour)
	defer cancel()
	start := time.Now()
	run, err := s.start(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	var res workflows.ConnectionSyncResult
	if err := run.Get(ctx, &res); err != nil {
		b.Fatalf("the sync failed: %v\nworker log (tail):\n%s", err, tail(proc.output.String(), 30))
	}
	wall := time.Since(start)
	progress("done in %s; reading the histories...", wall.Round(time.Second))
	parent := connectionChain(b, tsrv.Client(), s.allRuns()[0]) // run.GetRunID() is the last run now
	var child chainFigures
	for _, ref := range parent.Children {
		f := connectionChain(b, tsrv.Client(), ref)
		child.Runs += f.Runs
		child.MaxEvents, child.MaxBytes = max(child.MaxEvents, f.MaxEvents), max(child.MaxBytes, f.MaxBytes)
		child.MaxContinueInput = max(child.MaxContinueInput, f.MaxContinueInput)
	}
	total := len(res.Projects) + res.OmittedProjects
	fmt.Printf("org scale: %d projects, %d completed, %d failed, in %s\n", n, total-res.FailedProjects,
		res.FailedProjects, wall.Round(time.Millisecond))
	fmt.Printf("  requests: %d (the fake answered %d); pipelines %d\n", res.Totals.Requests, fake.Stats().Total,
		res.Totals.Of(store.KindPipeline))
	fmt.Printf("  ConnectionSync: %d runs, largest run %d events / %d bytes, largest continue-as-new input %d bytes, last event %s\n",
		parent.Runs, parent.MaxEvents, parent.MaxBytes, parent.MaxContinueInput, parent.LastEvent)
	fmt.Printf("  ProjectSync: %d children, %d runs, largest run %d events / %d bytes, largest continue-as-new input %d bytes\n",
		len(parent.Children), child.Runs, child.MaxEvents, child.MaxBytes, child.MaxContinueInput)
	for i, r := range parent.PerRun {
		fmt.Printf("    run %d: %s\n", i+1, r)
	}
	if res.FailedProjects > 0 || len(parent.Children) < n {
		b.Errorf("%d projects failed, %d children started for %d projects", res.FailedProjects, len(parent.Children), n)
	}
}

// envInt reads an integer environment variable, def when unset or not a number.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

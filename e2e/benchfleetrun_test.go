package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// fleetRun is BenchmarkFleet's setting: the fake, the dev server, the workers.
type fleetRun struct {
	cfg      fleetConfig
	fake     *circlecitest.Server
	progress func(format string, args ...any)
	dbURL    string
	tsrv     *testsuite.DevServer
	procs    []*workerProc
	s        *syncer
	ins      []workflows.ConnectionSyncInput
}

// fleetSync is what one sync of every connection cost.
type fleetSync struct {
	Label string
	Wall  time.Duration
	// Done is each connection's time from the start to its result, sorted.
	Done     []time.Duration
	Requests int64
	Stats    circlecitest.Stats
	History  chainStats
	Rows     int64 // rows written (the tables' growth)
	// Pipelines is the pipelines the cycle wrote; Failed the projects failed.
	Pipelines, Failed int64
	// Tables compares the tables with the fake's expected data.
	Tables string
	Times  childTimes
}

// start builds the worker, starts the dev server and cfg.Workers workers.
func (f *fleetRun) start(b *testing.B) {
	bin := buildWorker(b)
	f.tsrv = testenv.StartTemporal(b, testenv.DevServerOptions{})
	tq, tokenEnv := newID("bench-fleet"), newEnvName("TOKEN")
	for range f.cfg.Workers {
		p := startPollingWorker(b, bin, workerEnv(f.tsrv, tq, f.dbURL, tokenEnv, f.fake.Token(),
			"CIRCLECI_RATE=2000", "CIRCLECI_BURST=500", "CIRCLECI_MAX_CONCURRENT=64"))
		b.Cleanup(func() { p.stop(b) })
		f.procs = append(f.procs, p)
	}
	f.s = &syncer{c: f.tsrv.Client(), taskQueue: tq}
	f.ins = fleetInputs(f.cfg, f.fake.Expected(f.fake.Token()), f.fake.URL, tokenEnv)
}

// rerunWindow is the connections' rerun window.
func (f *fleetRun) rerunWindow() time.Duration {
	if f.cfg.RerunWindow >= 0 {
		return f.cfg.RerunWindow
	}
	return workflows.DefaultRerunWindow
}

// sync starts every connection at once and waits for all.
func (f *fleetRun) sync(ctx context.Context, b *testing.B, label string) fleetSync {
	f.progress("%s of %d connections...", label, len(f.ins))
	_, before, err := rowCounts(ctx, f.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	f.fake.ResetStats()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Minute)
	defer cancel()
	out := fleetSync{Label: label, Done: make([]time.Duration, len(f.ins))}
	results := make([]workflows.ConnectionSyncResult, len(f.ins))
	var roots []runRef
	var wg sync.WaitGroup
	start := time.Now()
	for i, in := range f.ins {
		run, err := f.s.start(ctx, in)
		if err != nil {
			b.Fatal(err)
		}
		roots = append(roots, runRef{run.GetID(), run.GetRunID()})
		wg.Go(func() {
			if err := run.Get(ctx, &results[i]); err != nil {
				b.Errorf("connection %s: %v\nworker log (tail):\n%s", in.ConnectionID, err,
					tail(f.procs[0].output.String(), 20))
			}
			out.Done[i] = time.Since(start)
		})
	}
	wg.Wait()
	out.Wall = time.Since(start)
	out.Stats = f.fake.Stats()
	slices.Sort(out.Done)
	for _, r := range results {
		out.Requests += r.Totals.Requests
		out.Pipelines += r.Totals.Of(store.KindPipeline)
		out.Failed += int64(r.FailedProjects)
	}
	f.progress("  %s, %d requests; reading the histories...", out.Wall.Round(time.Millisecond), out.Stats.Total)
	f.measure(ctx, b, &out, roots, before)
	return out
}

// measure reads the histories of roots and the tables (before rows before).
func (f *fleetRun) measure(ctx context.Context, b *testing.B, out *fleetSync, roots []runRef, before int64) {
	var err error
	if out.History, _, err = scanHistories(f.tsrv.Client(), roots, nil); err != nil {
		b.Fatal(err)
	}
	_, after, err := rowCounts(ctx, f.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	out.Rows = after - before
	if out.Times, err = projectChildTimes(ctx, f.tsrv.Client(), roots); err != nil {
		b.Fatal(err)
	}
	rep, err := compareDB(ctx, f.dbURL, f.fake.Expected(f.fake.Token()))
	if err != nil {
		b.Fatal(err)
	}
	out.Tables = tablesText(rep)
}

// peakRSS is each worker's peak resident set, in KiB.
func (f *fleetRun) peakRSS() []int64 {
	var out []int64
	for _, p := range f.procs {
		peak, _, err := memoryKB(p.cmd.Process.Pid)
		if err != nil {
			peak = -1
		}
		out = append(out, peak)
	}
	return out
}

// quantile is the q-quantile of sorted ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// syncLine prints one sync's figures.
func syncLine(s fleetSync, pipelines int64) string {
	perK := 0.0
	if pipelines > 0 {
		perK = float64(s.History.Events) / float64(pipelines) * 1000
	}
	return fmt.Sprintf("%s: %s wall, %d requests (%.0f/s), %d failed projects; history %d events (%.0f per 1,000 pipelines), "+
		"largest run %d events, %d activity retries; %d rows (%.0f rows/s); connection done after min %s / median %s / max %s; "+
		"tables %s",
		s.Label, secs(s.Wall), s.Stats.Total, float64(s.Stats.Total)/s.Wall.Seconds(), s.Failed, s.History.Events, perK,
		s.History.MaxRunEvents, sumRetries(s.History), s.Rows, float64(s.Rows)/s.Wall.Seconds(),
		secs(quantile(s.Done, 0)), secs(quantile(s.Done, 0.5)), secs(quantile(s.Done, 1)), s.Tables)
}

// sumRetries counts the activities that needed more than one attempt.
func sumRetries(h chainStats) int {
	n := 0
	for _, c := range h.Retries {
		n += c
	}
	return n
}

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// benchRunner runs the sync benchmark's scenarios against one Temporal dev
// server, with the worker command as a process.
type benchRunner struct {
	tb   testing.TB
	cfg  benchConfig
	tsrv *testsuite.DevServer
	bin  string
	seed int64
	// progress prints a progress line (stderr in the benchmark, the test log
	// in the quick test).
	progress func(format string, args ...any)
}

// syncRun is one sync, every connection at once, and what it cost.
type syncRun struct {
	Wall     time.Duration
	Stats    circlecitest.Stats
	Arrivals arrivalStats
	Results  []workflows.ConnectionSyncResult
	Roots    []runRef
}

// scenarioResult is what one setting on one backend measured.
type scenarioResult struct {
	Setting   benchSetting
	Backend   string
	Pipelines int // per project
	Seed      int64
	Expected  circlecitest.Expected
	Full      syncRun
	// History sums up the full sync's workflow histories.
	History chainStats
	// PeakRSSKB is the worker's VmHWM after the full sync.
	PeakRSSKB int64
	// WorkerCPU and BenchCPU are the CPU time the worker process and this
	// process (the fake, its front, the Temporal client) used during the full
	// sync.
	WorkerCPU, BenchCPU time.Duration
	// TemporalCPU is the CPU time the Temporal dev server (a child process
	// named "temporal") used during the full sync.
	TemporalCPU time.Duration
	// Rows are the rows in the tables after the full sync.
	Rows        int64
	RowsByTable map[string]int64
	// FullTables compares them with Expected (nil when only counted).
	FullTables   *dbReport
	Incrementals []incrementalResult
	Baseline     *baselineResult
}

// incrementalResult is one incremental sync.
type incrementalResult struct {
	Label       string
	RerunWindow time.Duration
	Advance     *circlecitest.AdvanceResult
	Run         syncRun
	Min         incMinimum
	Tables      dbReport
	// History sums up the sync's workflow histories.
	History chainStats
}

// baselineResult is the plain-loop baseline's run.
type baselineResult struct {
	Wall time.Duration
	// CPU is the CPU time this process (baseline, fake, front) used.
	CPU      time.Duration
	Stats    circlecitest.Stats
	Arrivals arrivalStats
	Rows     int64
	Tables   dbReport
}

// databaseURL returns a fresh, empty database of backend for the runner's tb.
func (r *benchRunner) databaseURL(backend string) string {
	if backend == "postgres" {
		return testenv.PostgresURL(r.tb)
	}
	return testenv.SQLiteURL(r.tb)
}

// benchInputs returns one ConnectionSync input per organisation of ex, on the
// front's URL, with default options.
func benchInputs(front *fakeFront, ex circlecitest.Expected, prefix, tokenEnv string) []workflows.ConnectionSyncInput {
	var ins []workflows.ConnectionSyncInput
	for i, org := range orgsOf(ex) {
		ins = append(ins, workflows.ConnectionSyncInput{
			ConnectionID: fmt.Sprintf("%s-%d", prefix, i+1), OrgSlug: org, BaseURL: front.URL, TokenEnv: tokenEnv,
		})
	}
	return ins
}

// syncTimeoutFor bounds a sync of about requests requests at rate: three times
// the ideal time plus three minutes.
func syncTimeoutFor(requests int, rate float64) time.Duration {
	d := 3 * time.Minute
	if rate > 0 && !math.IsInf(rate, 1) {
		d += 3 * time.Duration(float64(requests)/rate*float64(time.Second))
	} else {
		d += 2 * time.Minute
	}
	return d
}

// runSync starts every input's ConnectionSync at once, waits for all (at most
// timeout) and returns the figures; the front's records and the fake's stats
// are reset first. A failed sync or project is an error.
func runSync(ctx context.Context, front *fakeFront, s *syncer, ins []workflows.ConnectionSyncInput,
	timeout time.Duration) (syncRun, error) {
	front.reset()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	runs := make([]client.WorkflowRun, len(ins))
	var out syncRun
	for i, in := range ins {
		run, err := s.start(ctx, in)
		if err != nil {
			return out, err
		}
		runs[i] = run
		out.Roots = append(out.Roots, runRef{run.GetID(), run.GetRunID()})
	}
	out.Results = make([]workflows.ConnectionSyncResult, len(ins))
	errs := make([]error, len(ins))
	var wg sync.WaitGroup
	for i, run := range runs {
		wg.Go(func() { errs[i] = run.Get(ctx, &out.Results[i]) })
	}
	wg.Wait()
	out.Wall = time.Since(start)
	if ctx.Err() != nil {
		for _, run := range runs {
			_ = s.c.TerminateWorkflow(context.Background(), run.GetID(), run.GetRunID(), "bench: timed out")
		}
		return out, fmt.Errorf("the sync did not finish within %s", timeout)
	}
	var problems []error
	for i, err := range errs {
		if err != nil {
			problems = append(problems, fmt.Errorf("connection %s: %w", ins[i].ConnectionID, err))
			continue
		}
		for _, p := range out.Results[i].Projects {
			if p.Status != workflows.ProjectCompleted {
				problems = append(problems, fmt.Errorf("connection %s, project %s: %s %s: %s", ins[i].ConnectionID,
					p.ProjectSlug, p.Status, p.ErrorType, p.Error))
			}
		}
	}
	if len(problems) > 0 {
		return out, errors.Join(problems...)
	}
	out.Stats = front.fake.Stats()
	spans, _, _ := front.recorded()
	out.Arrivals = analyzeArrivals(spans, front.since(start), out.Wall, front.fake.Faults().RateBurst)
	return out, nil
}

// scenarioOptions says what a scenario runs besides the full sync.
type scenarioOptions struct {
	// Incrementals runs the two no-change incremental syncs and the one after
	// the Advance.
	Incrementals bool
	// Baseline runs the plain-loop baseline on a fresh fake and database.
	Baseline bool
	// CompareTables compares every row with Expected; otherwise only the row
	// counts are compared (the 5x dataset).
	CompareTables bool
}

// scenario runs one setting on one backend with pipelines per project: the
// full sync by a fresh worker process on a fresh database, then what so asks.
func (r *benchRunner) scenario(ctx context.Context, setting benchSetting, backend string, pipelines int,
	so scenarioOptions) (scenarioResult, error) {
	res := scenarioResult{Setting: setting, Backend: backend, Pipelines: pipelines, Seed: r.seed}
	opts := r.cfg.datasetOptionsFor(pipelines, r.seed, setting.Faults)
	front := startFront(r.tb, opts, nil)
	fake := front.fake
	token := fake.Token()
	ex := fake.Expected(token)
	res.Expected = ex
	dbURL := r.databaseURL(backend)
	tokenEnv := newEnvName("TOKEN")
	tq := newID("bench-" + setting.Key + "-" + backend)
	proc := startPollingWorker(r.tb, r.bin, workerEnv(r.tsrv, tq, dbURL, tokenEnv, token, setting.WorkerEnv...))
	defer proc.stop(r.tb)
	s := &syncer{c: r.tsrv.Client(), taskQueue: tq}
	ins := benchInputs(front, ex, newID("bench"), tokenEnv)
	fail := func(what string, err error) (scenarioResult, error) {
		return res, fmt.Errorf("%s / %s: %s: %w\nworker log (tail):\n%s", setting.Name, backend, what, err,
			tail(proc.output.String(), 30))
	}

	r.progress("%s / %s: full sync of %d projects × %d pipelines (%d API requests at least)...",
		setting.Name, backend, len(ex.Projects), pipelines, ex.MinimumRequests.Total)
	workerCPU, err := cpuTime(proc.cmd.Process.Pid)
	if err != nil {
		return fail("worker CPU time", err)
	}
	benchCPU, err := cpuTime(0)
	if err != nil {
		return fail("CPU time", err)
	}
	temporalCPU := childrenCPU("temporal")
	full, err := runSync(ctx, front, s, ins, syncTimeoutFor(ex.MinimumRequests.Total, setting.Ideal))
	if err != nil {
		return fail("full sync", err)
	}
	res.TemporalCPU = childrenCPU("temporal") - temporalCPU
	res.Full = full
	if res.WorkerCPU, err = cpuTime(proc.cmd.Process.Pid); err != nil {
		return fail("worker CPU time", err)
	}
	if res.BenchCPU, err = cpuTime(0); err != nil {
		return fail("CPU time", err)
	}
	res.WorkerCPU -= workerCPU
	res.BenchCPU -= benchCPU
	if res.PeakRSSKB, _, err = memoryKB(proc.cmd.Process.Pid); err != nil {
		return fail("worker memory", err)
	}
	if res.History, _, err = scanHistories(r.tsrv.Client(), full.Roots, nil); err != nil {
		return fail("histories", err)
	}
	if res.RowsByTable, res.Rows, err = rowCounts(ctx, dbURL); err != nil {
		return fail("row counts", err)
	}
	if so.CompareTables {
		rep, err := compareDB(ctx, dbURL, ex)
		if err != nil {
			return fail("compare the tables", err)
		}
		res.FullTables = &rep
	}
	r.progress("  %s, %d requests", full.Wall.Round(time.Millisecond), full.Stats.Total)

	if so.Incrementals {
		for _, window := range []time.Duration{0, workflows.DefaultRerunWindow} {
			inc, err := r.incremental(ctx, front, s, ins, dbURL, ex, window, nil, setting)
			if err != nil {
				return fail(fmt.Sprintf("no-change incremental sync (rerun_window %s)", window), err)
			}
			inc.Label = fmt.Sprintf("no-change incremental, rerun_window %s", window)
			res.Incrementals = append(res.Incrementals, inc)
		}
		adv := fake.Advance(r.cfg.Advance)
		inc, err := r.incremental(ctx, front, s, ins, dbURL, fake.Expected(token), workflows.DefaultRerunWindow, &adv, setting)
		if err != nil {
			return fail("incremental sync after the advance", err)
		}
		inc.Label = fmt.Sprintf("incremental after Advance{NewPipelines: %d, FinishRunning: %t, Reruns: %d}, rerun_window %s",
			r.cfg.Advance.NewPipelines, r.cfg.Advance.FinishRunning, r.cfg.Advance.Reruns, workflows.DefaultRerunWindow)
		inc.Advance = &adv
		res.Incrementals = append(res.Incrementals, inc)
	}
	proc.stop(r.tb)

	if so.Baseline {
		b, err := r.baseline(ctx, opts, setting, backend)
		if err != nil {
			return res, fmt.Errorf("%s / %s: baseline: %w", setting.Name, backend, err)
		}
		res.Baseline = &b
	}
	return res, nil
}

// incremental runs one incremental sync with rerun window window, after
// computing its minimum (adv: the Advance just made, nil for none), and
// compares the tables with ex.
func (r *benchRunner) incremental(ctx context.Context, front *fakeFront, s *syncer, ins []workflows.ConnectionSyncInput,
	dbURL string, ex circlecitest.Expected, window time.Duration, adv *circlecitest.AdvanceResult,
	setting benchSetting) (incrementalResult, error) {
	inc := incrementalResult{RerunWindow: window}
	var newPipelines, rerunWorkflows []string
	if adv != nil {
		newPipelines, rerunWorkflows = adv.NewPipelines, adv.RerunWorkflows
	}
	var err error
	inc.Min, err = incrementalMinimum(ctx, dbURL, front.fake.Dataset(), ex, time.Now(), window,
		workflows.DefaultOverlap, newPipelines, rerunWorkflows)
	if err != nil {
		return inc, err
	}
	rw := workflows.Duration(window)
	for i := range ins {
		ins[i].RerunWindow = &rw
	}
	r.progress("  incremental (rerun_window %s, advance %t): minimum %d requests...", window, adv != nil, inc.Min.Total())
	if inc.Run, err = runSync(ctx, front, s, ins, syncTimeoutFor(inc.Min.Total()+500, setting.Ideal)); err != nil {
		return inc, err
	}
	if inc.Tables, err = compareDB(ctx, dbURL, ex); err != nil {
		return inc, err
	}
	if inc.History, _, err = scanHistories(r.tsrv.Client(), inc.Run.Roots, nil); err != nil {
		return inc, err
	}
	r.progress("  %s, %d requests", inc.Run.Wall.Round(time.Millisecond), inc.Run.Stats.Total)
	return inc, nil
}

// baseline runs baselineSync on a fresh fake made with opts and a fresh
// database of backend, in setting's pacing.
func (r *benchRunner) baseline(ctx context.Context, opts circlecitest.Options, setting benchSetting,
	backend string) (baselineResult, error) {
	var out baselineResult
	front := startFront(r.tb, opts, nil)
	ex := front.fake.Expected(front.fake.Token())
	dbURL := r.databaseURL(backend)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return out, fmt.Errorf("open the store: %w", err)
	}
	defer st.Close()
	slugs := make([]string, len(ex.Projects))
	for i, p := range ex.Projects {
		slugs[i] = p.Slug
	}
	r.progress("%s / %s: baseline (plain loop, no Temporal)...", setting.Name, backend)
	front.reset()
	cpu, err := cpuTime(0)
	if err != nil {
		return out, err
	}
	start := time.Now()
	if err := baselineSync(ctx, front.URL, front.fake.Token(), setting.Limiter, workerPageConcurrency, st, slugs); err != nil {
		return out, err
	}
	out.Wall = time.Since(start)
	if out.CPU, err = cpuTime(0); err != nil {
		return out, err
	}
	out.CPU -= cpu
	out.Stats = front.fake.Stats()
	spans, _, _ := front.recorded()
	out.Arrivals = analyzeArrivals(spans, front.since(start), out.Wall, front.fake.Faults().RateBurst)
	if _, out.Rows, err = rowCounts(ctx, dbURL); err != nil {
		return out, err
	}
	if out.Tables, err = compareDB(ctx, dbURL, ex); err != nil {
		return out, err
	}
	r.progress("  %s, %d requests", out.Wall.Round(time.Millisecond), out.Stats.Total)
	return out, nil
}

// benchSeed returns the first seed from 1 whose dataset (opts with that seed),
// advanced by adv, reruns adv.Reruns pipelines all created less than maxAge
// before the dataset clock: so that an incremental sync with a rerun window of
// maxAge (plus the time the benchmark takes) sees the reruns, and the tables
// can equal Expected. The dataset depends only on the options, so a probe
// (not listening) tells.
func benchSeed(opts circlecitest.Options, adv circlecitest.Advance, maxAge time.Duration) (int64, error) {
	if adv.Reruns == 0 {
		return 1, nil
	}
	for seed := int64(1); seed <= 2000; seed++ {
		opts.Seed = seed
		probe := circlecitest.NewHandler(opts)
		res := probe.Advance(adv)
		if len(res.RerunPipelines) != adv.Reruns {
			continue
		}
		ok := true
		for _, id := range res.RerunPipelines {
			created, err := probePipelineCreated(probe, id)
			if err != nil {
				return 0, err
			}
			ok = ok && opts.Now.Sub(created) < maxAge
		}
		if ok {
			return seed, nil
		}
	}
	return 0, fmt.Errorf("no seed in 1..2000 reruns %d pipelines within %s", adv.Reruns, maxAge)
}

// probePipelineCreated reads a pipeline's created_at from a fake not
// listening, through its handler (cheaper than a Dataset copy).
func probePipelineCreated(probe *circlecitest.Server, id string) (time.Time, error) {
	req := httptest.NewRequest(http.MethodGet, "/api/v2/pipeline/"+id, nil)
	req.Header.Set("Circle-Token", probe.Token())
	rec := httptest.NewRecorder()
	probe.ServeHTTP(rec, req)
	var p struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if rec.Code != http.StatusOK {
		return time.Time{}, fmt.Errorf("probe: GET pipeline %s: HTTP %d", id, rec.Code)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		return time.Time{}, fmt.Errorf("probe: pipeline %s: %w", id, err)
	}
	return p.CreatedAt, nil
}

// havePostgres tells whether TEST_DATABASE_URL is set.
func havePostgres() bool { return os.Getenv("TEST_DATABASE_URL") != "" }

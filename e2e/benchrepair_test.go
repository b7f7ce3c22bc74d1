package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// sweepWindows are the rerun windows the repair sweep compares.
var sweepWindows = []time.Duration{workflows.DefaultRerunWindow, 24 * time.Hour, 0}

// oldFromFailed reruns from failed a pipeline weeks old, after the benchmark's Advance.
var oldFromFailed = circlecitest.Advance{RerunsFromFailed: 1, RerunMinAge: 14 * 24 * time.Hour, Step: time.Minute}

// sweepResult is what one rerun window measured on a fresh fake and database.
type sweepResult struct {
	Window time.Duration
	// NoChange and NoChangeMin: a no-change cycle right after the full sync
	// (no repair due) and its minimum.
	NoChange, NoChangeMin int64
	// Cycle and Missing: the cycle after the Advance (repair every cycle) and
	// the rows it leaves missing (reruns younger than Insights' lag).
	Cycle   int64
	Missing int
	// Repair and RepairMin: the repair pass past the lag (the cycle's requests
	// less the same cycle's with the repair off) and its minimum; LagMissing:
	// the rows missing after it.
	Repair     int64
	RepairMin  repairMinimum
	LagMissing int
}

// repairMinimum is a repair pass's least requests: run-list pages, and per
// unknown run its workflow and its job list pages (its pipeline is stored).
type repairMinimum struct {
	RunPages, Unknown, JobPages int
}

// Total is the minimum's requests.
func (m repairMinimum) Total() int64 { return int64(m.RunPages + m.Unknown + m.JobPages) }

// repairSweep runs, per rerun window, the full sync, a no-change cycle, the
// Advance plus a rerun from failed weeks old, a cycle with the repair due,
// then past Insights' lag a cycle with the repair off and one with it due.
func (r *benchRunner) repairSweep(ctx context.Context, backend string) ([]sweepResult, error) {
	var out []sweepResult
	for _, w := range sweepWindows {
		res, err := r.sweepWindow(ctx, backend, w)
		if err != nil {
			return out, fmt.Errorf("repair sweep, rerun_window %s: %w", w, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// sweepWindow is repairSweep's run of one window.
func (r *benchRunner) sweepWindow(ctx context.Context, backend string, window time.Duration) (sweepResult, error) {
	res := sweepResult{Window: window}
	setting := r.cfg.latencySetting()
	front := startFront(r.tb, r.cfg.datasetOptionsFor(r.cfg.PipelinesPerProject, r.seed, setting.Faults), nil)
	fake, token := front.fake, front.fake.Token()
	dbURL := r.databaseURL(backend)
	tokenEnv, tq := newEnvName("TOKEN"), newID("sweep-"+backend)
	proc := startPollingWorker(r.tb, r.bin, workerEnv(r.tsrv, tq, dbURL, tokenEnv, token, setting.WorkerEnv...))
	defer proc.stop(r.tb)
	s := &syncer{c: r.tsrv.Client(), taskQueue: tq}
	ins := benchInputs(front, fake.Expected(token), newID("sweep"), tokenEnv)
	cycle := func(repair string) (int64, error) {
		every := workflows.RepairEvery{Off: repair == "off"}
		if repair == "default" {
			every.Every = workflows.Duration(workflows.DefaultRepairEvery)
		}
		rw := workflows.Duration(window)
		for i := range ins {
			ins[i].RepairEvery, ins[i].RerunWindow = &every, &rw
		}
		run, err := runSync(ctx, front, s, ins, syncTimeoutFor(fake.Expected(token).MinimumRequests.Total, setting.Ideal))
		return run.Stats.Total, err
	}
	missing := func() (int, error) {
		rep, err := compareDB(ctx, dbURL, fake.Expected(token))
		n := 0
		for _, d := range rep.Tables {
			n += d.Missing
		}
		return n, err
	}
	r.progress("repair sweep / %s, rerun_window %s: full sync...", backend, window)
	if _, err := cycle("default"); err != nil {
		return res, err
	}
	m, err := incrementalMinimum(ctx, dbURL, fake.Dataset(), fake.Expected(token), time.Now(), window,
		workflows.DefaultOverlap, nil, nil)
	if err != nil {
		return res, err
	}
	res.NoChangeMin = int64(m.Total())
	if res.NoChange, err = cycle("default"); err != nil {
		return res, err
	}
	fake.Advance(r.cfg.Advance)
	fake.Advance(oldFromFailed)
	if res.Cycle, err = cycle("0s"); err != nil {
		return res, err
	}
	if res.Missing, err = missing(); err != nil {
		return res, err
	}
	return res, r.sweepPastLag(ctx, &res, fake, dbURL, ins, cycle, missing)
}

// sweepPastLag moves past Insights' lag and measures the repair pass against its minimum.
func (r *benchRunner) sweepPastLag(ctx context.Context, res *sweepResult, fake *circlecitest.Server, dbURL string,
	ins []workflows.ConnectionSyncInput, cycle func(string) (int64, error), missing func() (int, error)) error {
	fake.Advance(circlecitest.Advance{Step: circlecitest.DefaultInsightsLag})
	off, err := cycle("off")
	if err != nil {
		return err
	}
	if res.RepairMin, err = computeRepairMinimum(ctx, dbURL, fake, ins); err != nil {
		return err
	}
	on, err := cycle("0s")
	if err != nil {
		return err
	}
	res.Repair = on - off
	res.LagMissing, err = missing()
	return err
}

// computeRepairMinimum computes, from the store and the fake, the least
// requests of the repair pass of every project (names known, no summary read).
func computeRepairMinimum(ctx context.Context, dbURL string, fake *circlecitest.Server,
	ins []workflows.ConnectionSyncInput) (repairMinimum, error) {
	var m repairMinimum
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return m, err
	}
	defer st.Close()
	ex := fake.Expected(fake.Token())
	jobs := map[string]int{}
	for _, j := range ex.Jobs {
		jobs[j.WorkflowID]++
	}
	for _, p := range ex.Projects {
		conn := ins[slices.IndexFunc(ins, func(in workflows.ConnectionSyncInput) bool {
			return in.OrgSlug == p.OrganizationSlug
		})].ConnectionID
		if err := addProjectMinimum(ctx, st, fake, conn, p.Slug, jobs, &m); err != nil {
			return m, err
		}
	}
	return m, nil
}

// addProjectMinimum adds project slug's repair minimum to m.
func addProjectMinimum(ctx context.Context, st store.Store, fake *circlecitest.Server, conn, slug string,
	jobs map[string]int, m *repairMinimum) error {
	ps, err := st.ProjectState(ctx, conn, slug)
	if err != nil {
		return err
	}
	now := time.Now()
	from := now.Add(-activities.InsightsHorizon)
	if t := ps.RepairedAt.Add(-activities.RepairMargin); !ps.RepairedAt.IsZero() && t.After(from) {
		from = t
	}
	names, err := st.WorkflowNames(ctx, slug, now.Add(-activities.InsightsHorizon))
	if err != nil {
		return err
	}
	names = append(names, ps.InsightsNames...)
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		ids := fake.InsightsRunIDs(slug, name, from)
		m.RunPages += pagesOf(len(ids))
		stored, err := st.WorkflowStatuses(ctx, ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := stored[id]; !ok {
				m.Unknown++
				m.JobPages += pagesOf(jobs[id])
			}
		}
	}
	return nil
}

// repairSweep prints the sweep and its targets: the no-change cycle at its
// minimum when no repair is due, the repair pass at its minimum, nothing
// missing once a repair ran past the lag.
func (r *benchReport) repairSweep(backend string, rows []sweepResult) {
	r.printf("\n== repair pass and rerun_window sweep (%s; repair every cycle after the Advance + %d rerun from failed %s old) ==\n",
		backend, oldFromFailed.RerunsFromFailed, oldFromFailed.RerunMinAge)
	r.printf("  %-12s %-22s %-26s %-44s %s\n", "rerun_window", "no-change (min)", "cycle after advance", "repair past the lag (min: pages+wf+jobs)", "missing after")
	for _, s := range rows {
		m := s.RepairMin
		r.printf("  %-12s %-22s %-26s %-44s %d\n", s.Window, fmt.Sprintf("%d (%d)", s.NoChange, s.NoChangeMin),
			fmt.Sprintf("%d, %d rows missing", s.Cycle, s.Missing),
			fmt.Sprintf("%d (%d = %d+%d+%d)", s.Repair, m.Total(), m.RunPages, m.Unknown, m.JobPages), s.LagMissing)
		r.target(fmt.Sprintf("no-change cycle, no repair due, rerun_window %s (%s)", s.Window, backend),
			fmt.Sprint(s.NoChange), fmt.Sprintf("= minimum %d", s.NoChangeMin), s.NoChange == s.NoChangeMin)
		r.target(fmt.Sprintf("repair pass past the lag, rerun_window %s (%s)", s.Window, backend),
			fmt.Sprint(s.Repair), fmt.Sprintf("= minimum %d", m.Total()), s.Repair == m.Total())
		r.target(fmt.Sprintf("rows missing after the repair, rerun_window %s (%s)", s.Window, backend),
			fmt.Sprint(s.LagMissing), "0", s.LagMissing == 0)
	}
}

// TestBenchRepairQuick runs the repair sweep on the quick dataset (SQLite), so
// that it never rots: every repair pass makes exactly its minimum, nothing is
// missing after it, and with rerun_window 0s the cycle before the lag leaves
// the reruns missing (the control: the sweep can see a loss).
func TestBenchRepairQuick(t *testing.T) {
	cfg := quickBenchConfig()
	tsrv := startTemporal(t)
	bin := buildWorker(t)
	seed, err := benchSeed(cfg.datasetOptionsFor(cfg.PipelinesPerProject, 0, circlecitest.Faults{}), cfg.Advance,
		workflows.DefaultRerunWindow-rerunMargin)
	require.NoError(t, err)
	runner := &benchRunner{tb: t, cfg: cfg, tsrv: tsrv, bin: bin, seed: seed, progress: t.Logf}
	rows, err := runner.repairSweep(t.Context(), "sqlite")
	require.NoError(t, err)
	var buf strings.Builder
	(&benchReport{w: &buf}).repairSweep("sqlite", rows)
	t.Logf("figures:\n%s", buf.String())
	for _, s := range rows {
		assert.Equal(t, s.RepairMin.Total(), s.Repair, "rerun_window %s: the repair pass's requests", s.Window)
		assert.Positive(t, s.RepairMin.Unknown, "rerun_window %s: the old rerun is unknown until the repair", s.Window)
		assert.Zero(t, s.LagMissing, "rerun_window %s: rows missing after the repair", s.Window)
		assert.Positive(t, s.Missing, "rerun_window %s: the reruns within the lag are missing", s.Window)
	}
}

package e2e

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// oldRerunAge makes the fake rerun pipelines weeks old: far outside the rerun
// window, which paging and the refresh never reach again.
const oldRerunAge = 14 * 24 * time.Hour

// rerunScenario is a fake, a worker and one connection per organisation.
type rerunScenario struct {
	fake   *circlecitest.Server
	s      *syncer
	ins    []workflows.ConnectionSyncInput
	dbURL  string
	cycles int
}

// newRerunScenario starts the fake (its options changed by opts), a worker on
// b and runs the full sync.
func newRerunScenario(t *testing.T, b backend, name string, opts ...func(*circlecitest.Options)) *rerunScenario {
	tsrv := startTemporal(t)
	dbURL := b.url(t)
	o := datasetOptions(7)
	for _, f := range opts {
		f(&o)
	}
	fake := startFake(t, o)
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	tq := newID("e2e-" + name + "-" + b.name)
	startWorker(t, tsrv, tq, dbURL)
	sc := &rerunScenario{fake: fake, s: &syncer{c: tsrv.Client(), taskQueue: tq}, dbURL: dbURL,
		ins: connectionInputs(fake, newID(name), tokenEnv)}
	sc.cycle(t, "0s")
	requireTablesEqual(t, dbURL, fake.Expected(fake.Token()))
	return sc
}

// cycle runs one cycle of every connection with repair_every (and rerun_window 0s).
func (sc *rerunScenario) cycle(t *testing.T, repairEvery string) {
	t.Helper()
	var every workflows.RepairEvery
	require.NoError(t, every.UnmarshalJSON([]byte(`"`+repairEvery+`"`)))
	none := workflows.Duration(0)
	for i := range sc.ins {
		sc.ins[i].RepairEvery, sc.ins[i].RerunWindow = &every, &none
	}
	sc.cycles++
	logResults(t, "cycle", sc.ins, sc.s.syncAll(t, sc.ins))
}

// requireMissing compares the tables with the truth and requires rows missing
// (a control: the scenario can fail).
func (sc *rerunScenario) requireMissing(t *testing.T, why string) {
	t.Helper()
	rep, err := compareDB(t.Context(), sc.dbURL, sc.fake.Expected(sc.fake.Token()))
	require.NoError(t, err)
	missing := 0
	for _, d := range rep.Tables {
		missing += d.Missing
	}
	t.Logf("control (%s):\n%s", why, rep)
	require.Positive(t, missing, "control: %s leaves rows missing", why)
}

// finish moves the clock past Insights' lag, shows that a cycle with the repair
// off leaves the reruns missing, then that a cycle with the repair due stores
// every table equal to the truth, jobs per (workflow, job).
func (sc *rerunScenario) finish(t *testing.T) {
	sc.fake.Advance(circlecitest.Advance{Step: circlecitest.DefaultInsightsLag})
	sc.cycle(t, "off")
	sc.requireMissing(t, `repair_every "off"`)
	sc.cycle(t, "0s")
	requireTablesEqual(t, sc.dbURL, sc.fake.Expected(sc.fake.Token()))
}

// TestRerunFromFailed: reruns from failed on pipelines weeks old (the new
// workflow lists the original's successful jobs, same ids) are found by the
// repair pass once Insights shows them; before (within the lag) they are not.
func TestRerunFromFailed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			sc := newRerunScenario(t, b, "from-failed")
			adv := sc.fake.Advance(circlecitest.Advance{RerunsFromFailed: 3, RerunMinAge: oldRerunAge})
			require.Len(t, adv.RerunFromFailedWorkflows, 3)
			require.Positive(t, adv.ReusedJobs)
			t.Logf("reruns from failed: %v, %d jobs reused", adv.RerunFromFailedPipelines, adv.ReusedJobs)
			sc.cycle(t, "0s")
			sc.requireMissing(t, "Insights' lag")
			sc.finish(t)
		})
	}
}

// TestAnyAgeRerun: six steps of new pipelines, finished work and reruns (from
// start and from failed) on pipelines weeks old, each followed by a cycle with
// the repair due; after Insights' lag every table equals the truth.
func TestAnyAgeRerun(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			sc := newRerunScenario(t, b, "any-age")
			reruns := 0
			for range 6 {
				adv := sc.fake.Advance(circlecitest.Advance{NewPipelines: 5, FinishRunning: true, Reruns: 2,
					RerunsFromFailed: 1, RerunMinAge: oldRerunAge})
				reruns += len(adv.RerunWorkflows) + len(adv.RerunFromFailedWorkflows)
				sc.cycle(t, "0s")
			}
			t.Logf("%d reruns on pipelines at least %s old", reruns, oldRerunAge)
			require.Positive(t, reruns)
			sc.finish(t)
		})
	}
}

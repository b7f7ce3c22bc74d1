package e2e

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// incrementalAdvance is how the fake's time moves between the full and the
// incremental sync: new pipelines, running work finished, an older pipeline
// rerun (a new workflow under an unchanged pipeline).
var incrementalAdvance = circlecitest.Advance{NewPipelines: 5, FinishRunning: true, Reruns: 1}

// maxRerunAge bounds the age of the rerun pipeline in the chosen dataset: the
// incremental sync's rerun window must reach it, and a window that reaches the
// whole history would make the incremental sync re-read everything.
const maxRerunAge = 4 * 24 * time.Hour

// recentRerunOptions returns datasetOptions with the first seed whose dataset
// has every kind of unreachable entity (expired and broken pipelines, a missing
// user) and whose incrementalAdvance reruns a pipeline at most maxRerunAge old.
// The dataset depends only on the options, so a probe (not listening) tells.
func recentRerunOptions(t *testing.T) circlecitest.Options {
	t.Helper()
	opts := datasetOptions(0)
	for seed := int64(1); seed <= 200; seed++ {
		opts.Seed = seed
		probe := circlecitest.NewHandler(opts)
		kinds := map[string]bool{}
		for _, u := range probe.Expected(opts.Token).Unreachable {
			kinds[u.Kind+"/"+u.Reason] = true
		}
		if len(kinds) < 3 {
			continue
		}
		res := probe.Advance(incrementalAdvance)
		if len(res.RerunPipelines) == 0 {
			continue
		}
		created, ok := pipelineCreated(probe.Dataset(), res.RerunPipelines[0])
		if ok && res.Now.Sub(created) <= maxRerunAge {
			return opts
		}
	}
	t.Fatalf("no seed in 1..200 gives a dataset with every unreachable kind and a rerun within %s", maxRerunAge)
	return opts
}

// pipelineCreated returns the created_at of pipeline id in d.
func pipelineCreated(d circlecitest.Dataset, id string) (time.Time, bool) {
	for _, p := range d.Pipelines {
		if p.ID == id {
			return p.CreatedAt, true
		}
	}
	return time.Time{}, false
}

// TestSync is the main scenario, on each backend: a full sync of every
// organisation of the fake (one connection each) stores exactly what the fake
// expects, skipped ledger included; after the fake's time moves (new pipelines,
// running work finished, a rerun of an older pipeline) an incremental sync
// stores exactly the new Expected with less than half the full sync's requests;
// and no workflow history, log or state row holds the token.
func TestSync(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dbURL := b.url(t)
			fake := startFake(t, recentRerunOptions(t))
			token := fake.Token()
			tokenEnv := newEnvName("TOKEN")
			t.Setenv(tokenEnv, token)
			tq := newID("e2e-sync-" + b.name)
			logs := startWorker(t, tsrv, tq, dbURL)
			s := &syncer{c: tsrv.Client(), taskQueue: tq}
			prefix := newID("sync")
			ins := connectionInputs(fake, prefix, tokenEnv)
			require.Len(t, ins, 3, "one connection per organisation")

			var fullRequests int64
			full := t.Run("full", func(t *testing.T) {
				ex := fake.Expected(token)
				require.NotEmpty(t, ex.Unreachable)
				start := time.Now()
				results := s.syncAll(t, ins)
				elapsed := time.Since(start)
				logResults(t, "full", ins, results)
				for _, r := range results {
					for _, p := range r.Projects {
						assert.False(t, p.Incremental, "project %s: a first sync is not incremental", p.ProjectSlug)
					}
				}
				fullRequests = fake.Stats().Total
				t.Logf("full sync: %s, %d API requests (fake's count; the results report %d); Expected.MinimumRequests.Total %d (%.2fx)",
					elapsed.Round(time.Millisecond), fullRequests, totalRequests(results), ex.MinimumRequests.Total,
					float64(fullRequests)/float64(ex.MinimumRequests.Total))
				requireTablesEqual(t, dbURL, ex)
			})
			if !full {
				t.FailNow()
			}

			t.Run("incremental", func(t *testing.T) {
				fake.ResetStats()
				adv := fake.Advance(incrementalAdvance)
				require.Len(t, adv.RerunPipelines, 1)
				created, ok := pipelineCreated(fake.Dataset(), adv.RerunPipelines[0])
				require.True(t, ok)
				window := time.Since(created) + time.Hour
				ex := fake.Expected(token)

				// The test can fail: before the sync the tables lack what moved.
				before, err := compareDB(t.Context(), dbURL, ex)
				require.NoError(t, err)
				require.False(t, before.clean(), "the tables already equal the advanced Expected")

				rw := workflows.Duration(window)
				for i := range ins {
					ins[i].RerunWindow = &rw
				}
				t.Logf("advance: %d new pipelines, %d finished workflows, rerun of pipeline %s created %s ago (rerun_window %s)",
					len(adv.NewPipelines), len(adv.FinishedWorkflows), adv.RerunPipelines[0],
					time.Since(created).Round(time.Second), time.Duration(rw))
				start := time.Now()
				results := s.syncAll(t, ins)
				elapsed := time.Since(start)
				logResults(t, "incremental", ins, results)
				for _, r := range results {
					for _, p := range r.Projects {
						assert.True(t, p.Incremental, "project %s: the second sync is incremental", p.ProjectSlug)
						assert.True(t, p.Inline, "project %s: its few pages run inline, no child", p.ProjectSlug)
					}
				}
				incRequests := fake.Stats().Total
				t.Logf("requests: full %d, incremental %d (ratio %.3f; the results report %d); incremental sync took %s",
					fullRequests, incRequests, float64(incRequests)/float64(fullRequests), totalRequests(results),
					elapsed.Round(time.Millisecond))
				assert.Less(t, incRequests*2, fullRequests,
					"an incremental sync must cost less than half the full sync's requests")
				requireTablesEqual(t, dbURL, ex)
			})

			t.Run("no_token_leak", func(t *testing.T) {
				st := walkHistories(t, tsrv.Client(), s.allRuns(), fake.URL, token)
				t.Logf("histories: %d workflows, %d events, no token", len(st.Runs), st.Events)
				require.GreaterOrEqual(t, len(st.Runs), 6, "3 connections and their 3 projects")
				requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, prefix, token)
				requireNoSecretInState(t, dbURL, token)
			})

			// Last, as it changes the tables: the comparison sees a change of
			// one millisecond in a raw time, a changed status column, a
			// missing row and an extra skipped entry.
			t.Run("comparison_detects_changes", func(t *testing.T) {
				requireComparisonDetectsChanges(t, dbURL, fake.Expected(token))
			})
		})
	}
}

// TestContinueAsNew runs a full sync on a dev server that suggests
// continue-as-new after 15 history events. ProjectSync checks the suggestion
// between page activities, after at least one per run (the worker here covers
// one page per activity, so a 3-page project reaches about 25 events by its
// last page), and ConnectionSync before starting
// another child, after at least one per run; so the fake has 2 projects per
// organisation, synced one at a time. Both workflows continue as new, each
// result's Runs counts its chain, and the tables still equal the fake's
// Expected.
func TestContinueAsNew(t *testing.T) {
	tsrv := startTemporal(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=15")
	dbURL := backends[0].url(t)
	opts := datasetOptions(7)
	opts.Projects = 6
	fake := startFake(t, opts)
	token := fake.Token()
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, token)
	tq := newID("e2e-can")
	logs := startWorker(t, tsrv, tq, dbURL, func(cfg *syncworker.Config) { cfg.PagesPerActivity = 1 })
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	prefix := newID("can")
	ins := connectionInputs(fake, prefix, tokenEnv)
	for i := range ins {
		ins[i].MaxConcurrentProjects = 1
	}

	start := time.Now()
	results := s.syncAll(t, ins)
	t.Logf("sync took %s", time.Since(start).Round(time.Millisecond))
	logResults(t, "continue-as-new", ins, results)
	requireTablesEqual(t, dbURL, fake.Expected(token))

	st := walkHistories(t, tsrv.Client(), s.allRuns(), fake.URL, token)
	summary := ""
	for _, id := range sortedKeys(st.Runs) {
		summary += fmt.Sprintf("\n  %s: %d runs", id, st.Runs[id])
	}
	t.Logf("histories: %d events, runs per workflow:%s", st.Events, summary)
	connections := map[string]bool{}
	for _, in := range ins {
		connections[workflows.ConnectionWorkflowID(in.ConnectionID)] = true
	}
	projectRuns := 0
	for id, n := range st.Runs {
		if !connections[id] {
			projectRuns = max(projectRuns, n)
		}
	}
	assert.Greater(t, projectRuns, 1, "some ProjectSync continued as new")
	for i, r := range results {
		id := workflows.ConnectionWorkflowID(ins[i].ConnectionID)
		assert.Equal(t, st.Runs[id], r.Runs, "connection %s: result.Runs is the number of runs of its chain", id)
		assert.Greater(t, r.Runs, 1, "connection %s continued as new", id)
		assert.Len(t, r.Projects, 2, "connection %s: every project has an outcome across runs", id)
		fig := connectionChain(t, tsrv.Client(), runRef{id, ""})
		assert.Positive(t, fig.Waits, "connection %s: a run left its running child to the next, which waited for it", id)
	}
	requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, prefix, token)

	// RECORD_HISTORIES_DIR=$PWD/workflows/testdata/histories records the first
	// connection's histories (both workflows, continued runs included) for the
	// replay test: see scripts/record-histories.sh.
	if dir := os.Getenv("RECORD_HISTORIES_DIR"); dir != "" {
		roots := s.allRuns()
		recordHistories(t, tsrv.Client(), roots[0], dir)
	}
}

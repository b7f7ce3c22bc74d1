package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestIncrementalCyclesRunProjectsInline syncs one project, then twice more
// after activity: a cycle whose pages fit in one SyncProject runs it as the
// connection's activity (no child), one with more new pipelines than that goes
// on in the project's child from where the activity stopped. Each cycle stores
// exactly the fake's data with exactly the computed minimum of requests (no
// faults: a skipped item is polled again each cycle, above the minimum).
func TestIncrementalCyclesRunProjectsInline(t *testing.T) {
	tsrv := startTemporal(t)
	dbURL := testenv.SQLiteURL(t)
	fake := startFake(t, circlecitest.Options{Seed: 29, Projects: 1, PipelinesPerProject: 30, Users: 3,
		Now: time.Now().UTC().Truncate(time.Second).Add(-3 * time.Hour), Token: newToken()})
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	tq := newID("e2e-inline")
	startWorker(t, tsrv, tq, dbURL)
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	in := connectionInputs(fake, newID("inline"), tokenEnv)[0]
	ctx := context.Background()
	_, err := s.run(ctx, in)
	require.NoError(t, err)
	requireTablesEqual(t, dbURL, fake.Expected(fake.Token()))

	// 5 new pipelines fit in SyncProject's pages; 230 take 12 pages, 2 past them.
	for _, c := range []struct {
		newPipelines int
		inline       bool
	}{{5, true}, {workflows.PagesPerActivity*circlecitest.PageSize + 30, false}} {
		adv := fake.Advance(circlecitest.Advance{NewPipelines: c.newPipelines, FinishRunning: true})
		minimum, err := incrementalMinimum(ctx, dbURL, fake.Dataset(), fake.Expected(fake.Token()), time.Now(),
			workflows.DefaultRerunWindow, workflows.DefaultOverlap, adv.NewPipelines, adv.RerunWorkflows)
		require.NoError(t, err)
		fake.ResetStats()
		res, err := s.run(ctx, in)
		require.NoError(t, err)
		require.Len(t, res.Projects, 1)
		o := res.Projects[0]
		t.Logf("%d new pipelines: outcome %+v; %d requests, minimum %s", c.newPipelines, o, fake.Stats().Total, minimum)
		assert.Equal(t, workflows.ProjectCompleted, o.Status)
		assert.True(t, o.Incremental)
		assert.Equal(t, c.inline, o.Inline)
		if c.inline {
			assert.Empty(t, o.WorkflowID, "no child")
		} else {
			assert.Equal(t, workflows.ProjectWorkflowID(in.ConnectionID, o.ProjectSlug), o.WorkflowID)
		}
		assert.Equal(t, int64(minimum.Total()), fake.Stats().Total, "no page read twice")
		requireTablesEqual(t, dbURL, fake.Expected(fake.Token()))
	}
	// RECORD_HISTORIES_DIR records the last cycle's histories (the connection's
	// inline activity, the child going on from it) for the replay test.
	if dir := os.Getenv("RECORD_HISTORIES_DIR"); dir != "" {
		runs := s.allRuns()
		recordHistoriesAs(t, tsrv.Client(), runs[len(runs)-1], dir, "inline")
	}
}

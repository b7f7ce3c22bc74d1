package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestSyncProjectRunsTheWholeSyncInOneActivity: a project whose pages fit is
// planned, paged, refreshed and recorded by one SyncProject, first sync and
// incremental alike, with the requests the steps would make.
func TestSyncProjectRunsTheWholeSyncInOneActivity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 25}, tdb)
		slug := firstProject(f)
		in := ProjectCycleInput{Start: StartProjectInput{Connection: f.conn, ProjectSlug: slug, Overlap: Duration(time.Hour),
			Repair: true, RepairEvery: Duration(6 * time.Hour)}, MaxPages: 10, RerunWindow: Duration(24 * time.Hour)}
		var first ProjectCycleResult
		require.NoError(t, run(t, f.a.SyncProject, in, &first))
		assert.False(t, first.Plan.Incremental)
		assert.True(t, first.Page.Done && first.Refreshed && first.Completed)
		assert.Equal(t, int64(25), first.Counts.Of(store.KindPipeline))
		assert.Equal(t, f.srv.Stats().Total, first.Counts.Requests, "every request counted once")
		newest := projectPipelines(f.srv.Expected(testToken), slug)[0].CreatedAt
		st, err := tdb.st.ProjectState(context.Background(), f.conn.ConnectionID, slug)
		require.NoError(t, err)
		assert.True(t, st.Watermark.Equal(newest), "watermark %s, newest %s", st.Watermark, newest)
		assert.True(t, first.Watermark.Equal(newest))
		assert.WithinDuration(t, first.Plan.StartedAt, st.RepairedAt, time.Millisecond, "a first sync counts as a repair pass")

		f.srv.Advance(circlecitest.Advance{NewPipelines: 3, FinishRunning: true})
		before := f.srv.Stats().Total
		var next ProjectCycleResult
		require.NoError(t, run(t, f.a.SyncProject, in, &next))
		assert.True(t, next.Plan.Incremental && next.Completed)
		assert.False(t, next.Plan.Repair.Due, "the first sync's pass is recent")
		assert.Equal(t, f.srv.Stats().Total-before, next.Counts.Requests)
		assert.Len(t, tdb.ids(t, "circleci_pipelines", "id"), 28)
	})
}

// TestSyncProjectStopsAtMaxPages: pages left over are the workflow's; nothing
// is refreshed or recorded (a failure would redo the sync from the same point).
func TestSyncProjectStopsAtMaxPages(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 25}, openSQLite(t))
	slug := firstProject(f)
	var res ProjectCycleResult
	require.NoError(t, run(t, f.a.SyncProject, ProjectCycleInput{Start: StartProjectInput{Connection: f.conn,
		ProjectSlug: slug}, MaxPages: 1}, &res))
	assert.False(t, res.Page.Done || res.Refreshed || res.Completed)
	assert.NotEmpty(t, res.Page.NextPageToken)
	assert.Equal(t, int64(circlecitest.PageSize), res.Counts.Of(store.KindPipeline))
	st, err := f.tdb.st.ProjectState(context.Background(), f.conn.ConnectionID, slug)
	require.NoError(t, err)
	assert.True(t, st.Watermark.IsZero())
}

package activities

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestDiscoverProjectsIncremental: after a first discovery, the next reads the
// org pipeline list back to the recorded watermark only (one page here) and not
// the followed projects, which were read recently; a project with a new
// pipeline is found on that page. An old followed-projects read is done again.
func TestDiscoverProjectsIncremental(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, orgProjects := orgFixture(t, tdb)
		ctx := context.Background()
		var res DiscoverResult
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		require.True(t, res.FirstDiscovery)
		require.Greater(t, res.OrgPipelinePages, 1)
		st, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
		require.NoError(t, err)
		require.False(t, st.DiscoveredAt.IsZero())
		var newest time.Time
		for _, p := range f.srv.Dataset().Pipelines {
			if slices.Contains(orgProjects, p.ProjectSlug) && p.CreatedAt.After(newest) {
				newest = p.CreatedAt
			}
		}
		require.True(t, st.DiscoveryWatermark.Equal(newest.UTC()), "watermark %s, newest %s", st.DiscoveryWatermark, newest)

		f.srv.Advance(circlecitest.Advance{NewPipelines: 3})
		f.srv.ResetStats()
		res = DiscoverResult{}
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		require.False(t, res.FirstDiscovery)
		require.False(t, res.OrgPipelinesTruncated)
		require.Equal(t, orgProjects, res.Projects)
		stats := f.srv.Stats()
		require.EqualValues(t, 1, stats.Count(circlecitest.RoutePipelines, 0), "one org page reaches the watermark")
		require.Zero(t, stats.Count(circlecitest.RouteFollowedProjects, 0), "followed projects read recently")
		st2, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
		require.NoError(t, err)
		require.True(t, st2.DiscoveryWatermark.After(st.DiscoveryWatermark), "the watermark moves to the new pipelines")

		st2.DiscoveredAt = time.Now().Add(-DefaultRefreshAfter - time.Minute)
		require.NoError(t, tdb.st.SaveConnectionState(ctx, st2))
		f.srv.ResetStats()
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		require.EqualValues(t, 1, f.srv.Stats().Count(circlecitest.RouteFollowedProjects, 0))
	})
}

// TestStartProjectSkipsFreshMetadata: a project whose last completed sync is
// recent is not read again (GET /project); one synced long ago, or never, is.
func TestStartProjectSkipsFreshMetadata(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 6, Projects: 1, PipelinesPerProject: 3}, openSQLite(t))
	ctx := context.Background()
	slug := firstProject(f)
	in := StartProjectInput{Connection: f.conn, ProjectSlug: slug, Overlap: time.Hour}
	var plan ProjectPlan
	require.NoError(t, run(t, f.a.StartProject, in, &plan))
	require.EqualValues(t, 1, plan.Requests)
	require.False(t, plan.Incremental)

	wm := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, f.tdb.st.SaveProjectState(ctx, store.ProjectState{ConnectionID: f.conn.ConnectionID,
		ProjectSlug: slug, Watermark: wm, LastRunAt: time.Now()}))
	f.srv.ResetStats()
	require.NoError(t, run(t, f.a.StartProject, in, &plan))
	require.Zero(t, plan.Requests)
	require.Zero(t, f.srv.Stats().Total)
	require.True(t, plan.Incremental)
	require.True(t, plan.StopBefore.Equal(wm.Add(-time.Hour)))

	require.NoError(t, f.tdb.st.SaveProjectState(ctx, store.ProjectState{ConnectionID: f.conn.ConnectionID,
		ProjectSlug: slug, Watermark: wm, LastRunAt: time.Now().Add(-DefaultRefreshAfter - time.Minute)}))
	require.NoError(t, run(t, f.a.StartProject, in, &plan))
	require.EqualValues(t, 1, plan.Requests)
}

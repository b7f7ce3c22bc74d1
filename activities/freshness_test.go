package activities

import (
	"context"
	"fmt"
	"slices"
	"sync"
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
		require.False(t, st.FollowedAt.IsZero())
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

		st2.FollowedAt = time.Now().Add(-DefaultRefreshAfter - time.Minute)
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
	in := StartProjectInput{Connection: f.conn, ProjectSlug: slug, Overlap: Duration(time.Hour)}
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

// TestDiscoverProjectsRecently: projects discovered within FreshFor are taken
// from the record without a request; older ones are discovered again.
func TestDiscoverProjectsRecently(t *testing.T) {
	f, orgProjects := orgFixture(t, openSQLite(t))
	ctx := context.Background()
	in := DiscoverInput{Connection: f.conn, FreshFor: Duration(time.Hour)}
	var res DiscoverResult
	require.NoError(t, run(t, f.a.DiscoverProjects, in, &res))
	require.False(t, res.Recent, "nothing on record: discovered")
	f.srv.ResetStats()
	require.NoError(t, run(t, f.a.DiscoverProjects, in, &res))
	require.True(t, res.Recent)
	require.Equal(t, orgProjects, res.Projects)
	require.Zero(t, res.Requests)
	require.Zero(t, f.srv.Stats().Total)

	st, err := f.tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
	require.NoError(t, err)
	st.DiscoveredAt = time.Now().Add(-2 * time.Hour)
	require.NoError(t, f.tdb.st.SaveConnectionState(ctx, st))
	res = DiscoverResult{}
	require.NoError(t, run(t, f.a.DiscoverProjects, in, &res))
	require.False(t, res.Recent, "an hour-old discovery is done again")
	require.EqualValues(t, 1, f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
	in.FreshFor = 0
	res = DiscoverResult{}
	require.NoError(t, run(t, f.a.DiscoverProjects, in, &res))
	require.False(t, res.Recent, "FreshFor 0: always")
}

// TestResolveUsersOnceForConcurrentConnections: connections of one worker that
// resolve the same users at once fetch each user once (the worker shares the
// fetches in flight, and a later chunk skips users stored meanwhile).
func TestResolveUsersOnceForConcurrentConnections(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 8, Projects: 1, PipelinesPerProject: 20,
			Faults: circlecitest.Faults{Latency: 20 * time.Millisecond}}, tdb)
		slug := firstProject(f)
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, nil))
		refs, err := tdb.st.UserRefs(context.Background(), []string{slug})
		require.NoError(t, err)
		require.NotEmpty(t, refs)
		f.srv.ResetStats()
		const connections = 3
		results := make([]ResolveUsersResult, connections)
		errs := make([]error, connections)
		var wg sync.WaitGroup
		for i := range connections {
			conn := f.conn
			conn.ConnectionID = fmt.Sprintf("conn-%d", i)
			wg.Go(func() {
				errs[i] = run(t, f.a.ResolveUsers, ResolveUsersInput{Connection: conn, Projects: []string{slug},
					FreshFor: Duration(time.Hour)}, &results[i])
			})
		}
		wg.Wait()
		for i := range connections {
			require.NoError(t, errs[i])
			require.EqualValues(t, len(refs), results[i].Referenced)
		}
		require.EqualValues(t, len(refs), f.srv.Stats().Count(circlecitest.RouteUser, 0),
			"each referenced user fetched once, not once per connection")
	})
}

// TestDiscoveryWatermarkStaysWhenTruncated: a discovery cut short by
// DiscoveryMaxPages before it reached the last watermark leaves the watermark
// where it was, so the pages it did not read are read next time.
func TestDiscoveryWatermarkStaysWhenTruncated(t *testing.T) {
	f, _ := orgFixture(t, openSQLite(t))
	ctx := context.Background()
	require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, nil))
	st, err := f.tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
	require.NoError(t, err)
	old := st.DiscoveryWatermark
	f.srv.Advance(circlecitest.Advance{NewPipelines: 60}) // more than one page per project
	f.a.DiscoveryMaxPages = 1
	var res DiscoverResult
	require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
	require.True(t, res.OrgPipelinesTruncated)
	st, err = f.tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
	require.NoError(t, err)
	require.True(t, st.DiscoveryWatermark.Equal(old), "the watermark stays at %s, not %s", old, st.DiscoveryWatermark)
	f.a.DiscoveryMaxPages = 0
	res = DiscoverResult{}
	require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
	require.False(t, res.OrgPipelinesTruncated)
	st, err = f.tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
	require.NoError(t, err)
	require.True(t, st.DiscoveryWatermark.After(old), "read back to it, the watermark moves")
}

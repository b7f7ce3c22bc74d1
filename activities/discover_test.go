package activities

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestDiscoverProjectsBounded: discovery reads at most DiscoveryMaxPages pages of
// the org pipeline list, and keeps the org's projects recorded earlier.
func TestDiscoverProjectsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		// Six projects: two per org (slug styles cycle), 60 pipelines per org,
		// three pages of org pipelines.
		f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 6, PipelinesPerProject: 30}, tdb)
		ctx := context.Background()
		ex := f.srv.Expected(testToken)
		var orgProjects, orgPipelines []string
		for _, p := range ex.Projects {
			if p.OrganizationSlug == f.conn.OrgSlug {
				orgProjects = append(orgProjects, p.Slug)
			}
		}
		for _, p := range ex.Pipelines {
			if slices.Contains(orgProjects, p.ProjectSlug) {
				orgPipelines = append(orgPipelines, p.ID)
			}
		}
		require.Len(t, orgProjects, 2)
		require.Greater(t, len(orgPipelines), 2*circlecitest.PageSize)
		slices.Sort(orgProjects)

		// Unbounded (the default, 50 pages): the whole list, 3 pages.
		var res DiscoverResult
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		require.Equal(t, orgProjects, res.Projects)
		require.Equal(t, 3, res.OrgPipelinePages)
		require.False(t, res.OrgPipelinesTruncated)
		require.Equal(t, int64(3), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))

		// A project recorded by an earlier discovery stays; one of another org
		// (configured earlier) does not.
		require.NoError(t, tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID,
			Projects: []string{"gh/acme/recorded-earlier", "gh/other/elsewhere"}}))
		f.a.DiscoveryMaxPages = 1
		f.srv.ResetStats()
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		want := append([]string{"gh/acme/recorded-earlier"}, orgProjects...)
		slices.Sort(want)
		require.Equal(t, want, res.Projects)
		require.Equal(t, 1, res.OrgPipelinePages)
		require.True(t, res.OrgPipelinesTruncated)
		require.Equal(t, int64(1), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
		require.Equal(t, f.srv.Stats().Total, res.Requests)
		st, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
		require.NoError(t, err)
		require.Equal(t, want, st.Projects)

		// Nothing followed any more: the recorded projects are all still there,
		// whatever the first page of org pipelines names.
		proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/api/v1.1/projects" {
				answer(w, http.StatusOK, `[]`)
				return true
			}
			return false
		})
		f.conn.BaseURL = proxy.URL
		f.srv.ResetStats()
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		require.Equal(t, want, res.Projects)
		require.Equal(t, int64(1), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
	})
}

// orgFixture is a fake with two projects of f.conn's org and three pages of its
// org pipelines; it returns the org's project slugs, sorted.
func orgFixture(t *testing.T, tdb testDB) (*fixture, []string) {
	t.Helper()
	f := newFixture(t, circlecitest.Options{Seed: 4, Projects: 6, PipelinesPerProject: 30}, tdb)
	var orgProjects []string
	for _, p := range f.srv.Expected(testToken).Projects {
		if p.OrganizationSlug == f.conn.OrgSlug {
			orgProjects = append(orgProjects, p.Slug)
		}
	}
	require.Len(t, orgProjects, 2)
	slices.Sort(orgProjects)
	return f, orgProjects
}

// firstDiscoverProgress records the activity's first heartbeat details with
// pages read into p (heartbeats are throttled: the later ones may not be sent).
func firstDiscoverProgress(mu *sync.Mutex, p *DiscoverProgress) func(env *testsuite.TestActivityEnvironment) {
	return func(env *testsuite.TestActivityEnvironment) {
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
			var got DiscoverProgress
			mu.Lock()
			defer mu.Unlock()
			if d.Get(&got) == nil && got.Pages > 0 && p.Pages == 0 {
				*p = got
			}
		})
	}
}

// TestDiscoverProjectsFirstSyncReadsAll: with no project of the org on record,
// discovery reads every page of the org pipeline list whatever
// DiscoveryMaxPages; once projects are recorded, the bound applies.
func TestDiscoverProjectsFirstSyncReadsAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, orgProjects := orgFixture(t, tdb)
		ctx := context.Background()
		f.a.DiscoveryMaxPages = 1

		// Only a project of another org on record: still a first discovery.
		require.NoError(t, tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID,
			Projects: []string{"gh/other/elsewhere"}}))
		var mu sync.Mutex
		var beat DiscoverProgress
		var res DiscoverResult
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res,
			firstDiscoverProgress(&mu, &beat)))
		require.True(t, res.FirstDiscovery)
		require.Equal(t, orgProjects, res.Projects)
		require.Equal(t, 3, res.OrgPipelinePages)
		require.False(t, res.OrgPipelinesTruncated)
		require.Equal(t, int64(3), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
		mu.Lock()
		require.Equal(t, 1, beat.Pages)
		require.NotEmpty(t, beat.NextPageToken)
		require.NotEmpty(t, beat.Slugs)
		require.Subset(t, orgProjects, beat.Slugs)
		mu.Unlock()
		st, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
		require.NoError(t, err)
		require.Equal(t, orgProjects, st.Projects)

		// Projects on record but no discovery watermark (a record of an earlier
		// version): the bound applies, one page only.
		st.DiscoveryWatermark = time.Time{}
		require.NoError(t, tdb.st.SaveConnectionState(ctx, st))
		f.srv.ResetStats()
		res = DiscoverResult{}
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		require.False(t, res.FirstDiscovery)
		require.Equal(t, orgProjects, res.Projects)
		require.Equal(t, 1, res.OrgPipelinePages)
		require.True(t, res.OrgPipelinesTruncated)
		require.Equal(t, int64(1), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
	})
}

// TestDiscoverProjectsResumes: a retry resumes the org pipeline list from the
// heartbeat details: after the pages read, keeping the slugs found; not at all
// when the list was read to the end; from the first page when the saved token
// is refused.
func TestDiscoverProjectsResumes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, orgProjects := orgFixture(t, tdb)
		ctx := context.Background()
		cl, err := f.a.Clients.Client(ctx, f.conn, f.a.Credentials)
		require.NoError(t, err)
		first, err := cl.OrgPipelinesPage(ctx, f.conn.OrgSlug, "")
		require.NoError(t, err)
		require.NotEmpty(t, first.NextPageToken)
		const earlier = "gh/acme/found-by-an-earlier-attempt"
		withDetails := func(p DiscoverProgress) func(env *testsuite.TestActivityEnvironment) {
			return func(env *testsuite.TestActivityEnvironment) { env.SetHeartbeatDetails(p) }
		}
		want := append([]string{earlier}, orgProjects...)
		slices.Sort(want)

		// After page 1: pages 2 and 3 are read; the heartbeats go on from there.
		f.srv.ResetStats()
		var mu sync.Mutex
		var beat DiscoverProgress
		var res DiscoverResult
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res,
			withDetails(DiscoverProgress{NextPageToken: first.NextPageToken, Pages: 1, Slugs: []string{earlier}}),
			firstDiscoverProgress(&mu, &beat)))
		require.True(t, res.FirstDiscovery)
		require.Equal(t, want, res.Projects)
		require.Equal(t, 3, res.OrgPipelinePages)
		require.Equal(t, int64(2), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
		mu.Lock()
		require.GreaterOrEqual(t, beat.Pages, 1)
		require.Contains(t, beat.Slugs, earlier)
		mu.Unlock()

		// Read to the end already (the save failed): no page is read again.
		require.NoError(t, tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID}))
		f.srv.ResetStats()
		res = DiscoverResult{}
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res,
			withDetails(DiscoverProgress{Pages: 3, Slugs: []string{earlier}})))
		require.Contains(t, res.Projects, earlier)
		require.Equal(t, 3, res.OrgPipelinePages)
		require.Zero(t, f.srv.Stats().Count(circlecitest.RoutePipelines, 0))

		// A refused token: the list restarts from its first page (one 400, then
		// three pages), keeping the slugs found.
		require.NoError(t, tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID}))
		f.srv.ResetStats()
		res = DiscoverResult{}
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res,
			withDetails(DiscoverProgress{NextPageToken: "not-a-token", Pages: 2, Slugs: []string{earlier}})))
		require.Equal(t, want, res.Projects)
		require.Equal(t, 3, res.OrgPipelinePages)
		require.Equal(t, int64(1), f.srv.Stats().Count(circlecitest.RoutePipelines, http.StatusBadRequest))
		require.Equal(t, int64(3), f.srv.Stats().Count(circlecitest.RoutePipelines, http.StatusOK))

		// With the bound (and no watermark): a resumed attempt counts the pages
		// read before.
		require.NoError(t, tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID,
			Projects: orgProjects}))
		f.a.DiscoveryMaxPages = 2
		f.srv.ResetStats()
		res = DiscoverResult{}
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res,
			withDetails(DiscoverProgress{NextPageToken: first.NextPageToken, Pages: 1})))
		require.False(t, res.FirstDiscovery)
		require.Equal(t, 2, res.OrgPipelinePages)
		require.True(t, res.OrgPipelinesTruncated)
		require.Equal(t, int64(1), f.srv.Stats().Count(circlecitest.RoutePipelines, 0))
	})
}

// TestProjectRecordNeverShrinksWrongly: discovery adds this run's projects to
// the record, configured or discovered; CompleteConnection adds the run's
// projects and drops only those the run found missing.
func TestProjectRecordNeverShrinksWrongly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, orgProjects := orgFixture(t, tdb)
		ctx := context.Background()
		record := func() []string {
			st, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
			require.NoError(t, err)
			return st.Projects
		}
		require.NoError(t, tdb.st.SaveConnectionState(ctx, store.ConnectionState{ConnectionID: f.conn.ConnectionID,
			Projects: []string{"gh/acme/old", "gh/other/elsewhere"}}))

		// A configured run: its projects are the result, and join the record
		// (the other org's project is dropped, as ever).
		var res DiscoverResult
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn,
			Projects: []string{"gh/acme/configured"}}, &res))
		require.Equal(t, []string{"gh/acme/configured"}, res.Projects)
		require.Equal(t, []string{"gh/acme/configured", "gh/acme/old"}, record())

		// A discovery run: the discovered projects join too.
		res = DiscoverResult{}
		require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: f.conn}, &res))
		want := append([]string{"gh/acme/configured", "gh/acme/old"}, orgProjects...)
		slices.Sort(want)
		require.Equal(t, want, res.Projects)
		require.Equal(t, want, record())

		// CompleteConnection of a configured run: nothing is dropped but what
		// the run found missing (compared case-insensitively).
		require.NoError(t, run(t, f.a.CompleteConnection, CompleteConnectionInput{Connection: f.conn,
			Projects: []string{"gh/acme/configured", "gh/acme/new"}, Missing: []string{"GH/acme/Old"}}, nil))
		want = append([]string{"gh/acme/configured", "gh/acme/new"}, orgProjects...)
		slices.Sort(want)
		require.Equal(t, want, record())

		// When every project of the run answered not found, none is dropped:
		// the token more likely lost its access than every project went.
		require.NoError(t, run(t, f.a.CompleteConnection, CompleteConnectionInput{Connection: f.conn,
			Projects: []string{"gh/acme/new"}, Missing: []string{"gh/acme/new"}}, nil))
		require.Equal(t, want, record())

		// A missing project both run and found missing is dropped.
		require.NoError(t, run(t, f.a.CompleteConnection, CompleteConnectionInput{Connection: f.conn,
			Projects: append([]string{"gh/acme/new"}, orgProjects...), Missing: []string{"gh/acme/new"}}, nil))
		want = slices.DeleteFunc(want, func(s string) bool { return s == "gh/acme/new" })
		require.Equal(t, want, record())

		// With a revoked token, "missing" projects are not dropped: the token's
		// own user answers 401 too.
		revoked := *f.a
		revoked.Credentials = EnvCredentials{Lookup: lookup(map[string]string{tokenEnv: "revoked-" + testToken})}
		err := run(t, revoked.CompleteConnection, CompleteConnectionInput{Connection: f.conn,
			Projects: orgProjects, Missing: orgProjects}, nil)
		ae := requireAppError(t, err, ErrInvalidCredentials, true)
		require.Contains(t, ae.Error(), "the project record is kept")
		require.Equal(t, want, record())
	})
}

func TestMergeRecord(t *testing.T) {
	require.Equal(t, []string{"gh/acme/a", "gh/acme/b", "gh/other/x"},
		mergeRecord("gh/acme", []string{"gh/acme/b", "gh/other/y", " "}, []string{"gh/other/x", "gh/acme/a", "", "gh/acme/b"}, nil))
	require.Equal(t, []string{"bb/x/y", "gh/acme/b"},
		mergeRecord("", []string{"gh/acme/b", "gh/acme/c"}, []string{"bb/x/y"}, []string{"github/acme/c"}))
	require.Empty(t, mergeRecord("gh/acme", nil, nil, nil))
}

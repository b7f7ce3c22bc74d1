package activities

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

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

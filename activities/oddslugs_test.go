package activities

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestCrawlOddSlugs: projects and an organization whose names need escaping
// and quoting ("%", spaces, unicode, quotes, "'; DROP TABLE …") are
// discovered, paged, refreshed and resolved like any other, and stored
// exactly, on every backend.
func TestCrawlOddSlugs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 12, Projects: 1, OddProjects: len(circlecitest.OddRepoNames),
			PipelinesPerProject: 3, MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 3}, tdb)
		ex := f.srv.Expected(testToken)
		require.Len(t, ex.Projects, 1+len(circlecitest.OddRepoNames))

		var projects []string
		for _, org := range []string{"gh/acme", circlecitest.OddOrgSlug} {
			conn := f.conn
			conn.OrgSlug = org
			var res DiscoverResult
			require.NoError(t, run(t, f.a.DiscoverProjects, DiscoverInput{Connection: conn}, &res))
			var want []string
			for _, p := range ex.Projects {
				if p.OrganizationSlug == org {
					want = append(want, p.Slug)
				}
			}
			slices.Sort(want)
			require.Equal(t, want, res.Projects, "org %q", org)
			projects = append(projects, res.Projects...)
		}
		for _, slug := range projects {
			counts, _ := syncProject(t, f, slug, time.Time{})
			require.Equal(t, int64(len(projectPipelines(ex, slug))), counts.Of(store.KindPipeline), slug)
			var rc SyncCounts
			require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: slug}, &rc))
			st, err := tdb.st.ProjectState(context.Background(), f.conn.ConnectionID, slug)
			require.NoError(t, err)
			require.Equal(t, projectPipelines(ex, slug)[0].CreatedAt, st.Watermark, slug)
		}
		var users ResolveUsersResult
		require.NoError(t, run(t, f.a.ResolveUsers, ResolveUsersInput{Connection: f.conn, Projects: projects}, &users))
		requireStoreMatches(t, f, ex)

		// The names are stored exactly, quotes and all.
		var want []string
		for _, p := range ex.Projects {
			want = append(want, strings.Join([]string{p.Slug, p.Name, p.OrganizationName, p.OrganizationSlug}, "|"))
		}
		slices.Sort(want)
		require.Equal(t, want, tdb.rows(t, `SELECT slug, name, organization_name, organization_slug FROM circleci_projects`))
		require.Equal(t, expectedRows(ex, ex.Pipelines), storedRows(t, tdb))
	})
}

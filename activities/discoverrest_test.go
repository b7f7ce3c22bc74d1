package activities

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// TestDiscoverCycleRest: a first discovery asked to leave the org pipeline list
// (OrgListLater) returns the one followed project alone and reads no org page;
// DiscoverCycleRest then reads the list, appends the unfollowed project to the
// cycle and stages it, its watermark and the date; the requests are the same.
func TestDiscoverCycleRest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, orgProjects := orgFixture(t, tdb)
		ctx := context.Background()
		followed := onlyFollowed(t, f.srv, orgProjects[0])
		f.conn.BaseURL = followed.URL
		f.srv.ResetStats()

		var found CycleDiscovery
		require.NoError(t, run(t, f.a.DiscoverCycle, DiscoverInput{Connection: f.conn, OrgListLater: true}, &found))
		require.Equal(t, CycleDiscovery{Projects: 1, First: orgProjects[:1], Requests: found.Requests, Rest: true,
			FirstSync: true}, found, "no project of the org on record: a first sync")
		require.Zero(t, f.srv.Stats().Count(circlecitest.RoutePipelines, 0), "no org page read yet")

		var rest CycleDiscovery
		require.NoError(t, run(t, f.a.DiscoverCycleRest, DiscoverInput{Connection: f.conn}, &rest))
		require.Equal(t, 2, rest.Projects)
		require.Equal(t, int64(3), f.srv.Stats().Count(circlecitest.RoutePipelines, 0), "every org page, once")
		require.Equal(t, f.srv.Stats().Total+1, found.Requests+rest.Requests, "the proxy answered the followed list")
		c, ok, err := tdb.st.Cycle(ctx, "default-test-workflow-id")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, orgProjects, c.Projects, "the unfollowed project appended")
		require.Equal(t, orgProjects, c.Staged.Projects)
		require.False(t, c.Staged.DiscoveredAt.IsZero())
		require.False(t, c.Staged.DiscoveryWatermark.IsZero())

		// Without OrgListLater discovery reads it all.
		found = CycleDiscovery{}
		require.NoError(t, run(t, f.a.DiscoverCycle, DiscoverInput{Connection: f.conn}, &found))
		require.Equal(t, CycleDiscovery{Projects: 2, First: orgProjects, Requests: found.Requests, FirstSync: true}, found,
			"the staged record is not saved until the cycle completes: still a first sync")
	})
}

// onlyFollowed is a proxy in front of srv whose v1.1 project list (the followed
// projects) holds slug alone.
func onlyFollowed(t *testing.T, srv *circlecitest.Server, slug string) *httptest.Server {
	t.Helper()
	var all []circlecitest.FollowedProject
	for _, p := range srv.Expected(testToken).FollowedProjects {
		if p.ProjectSlug == slug {
			all = append(all, p)
		}
	}
	require.Len(t, all, 1)
	body, err := json.Marshal(all)
	require.NoError(t, err)
	proxy := newProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1.1/projects" {
			answer(w, http.StatusOK, string(body))
			return true
		}
		return false
	})
	return proxy
}

//go:build pagecycle

package activities

// This test is left out of the default build (go test -tags pagecycle runs
// it) because it fails today: SyncPipelinePage reads one page of a project's
// pipeline list per call and returns its next_page_token without checking it
// against the token it was called with, and ProjectSync (workflows/project.go)
// pages until the token is empty, keeping no set of tokens seen. A
// next_page_token that repeats (A→A, or A→B→A across calls) makes ProjectSync
// sync the same pages for ever. The client's Pages/PagesFrom guard a listing
// within one call only. Remove the build tag once paging fails such a list
// with ErrBadResponse (or stops it).

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

func TestSyncPipelinePageTokenCycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, corruptRoutes[0].opts, tdb)
		slug := firstProject(f)
		var res PageResult
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
		require.NotEmpty(t, res.NextPageToken)
		token := res.NextPageToken

		f.srv.SetFaults(circlecitest.Faults{Corrupt: []circlecitest.Corruption{
			{Route: "project_pipelines", Kind: circlecitest.CorruptPageTokenCycle, Rate: 1}}})
		err := run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageToken: token, PageNumber: 2}, &res)
		require.EqualValues(t, 1, f.srv.Stats().Corrupted[circlecitest.CorruptPageTokenCycle])
		if err == nil {
			require.NotEqual(t, token, res.NextPageToken, "page 2 names itself as the next page: paging would loop for ever")
			return
		}
		require.Equal(t, ErrBadResponse, appError(t, err).Type(), "error: %v", err)
	})
}

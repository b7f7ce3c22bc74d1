package activities

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// TestSyncPipelinePageTokenCycle: a pipeline list whose next_page_token loops
// fails the page activity with bad_response instead of paging for ever: a token
// naming the page itself (A→A), and a page that brings back pipelines the pages
// before already listed (A→B→A across activities: Below).
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

// TestSyncPipelinePageBelow: a page whose pipelines all have numbers at or above
// Below (the pages before reached lower) is a loop; one that reaches lower is
// progress, and its Lowest is the next Below.
func TestSyncPipelinePageBelow(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 31, Projects: 1, PipelinesPerProject: 45}, openSQLite(t))
	slug := firstProject(f)
	var first PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1,
		MaxPages: 2}, &first))
	require.Positive(t, first.Lowest)
	pipes := projectPipelines(f.srv.Expected(testToken), slug)
	require.Equal(t, pipes[39].Number, first.Lowest, "the lowest number of the 40 pipelines read")

	// Page 1 again, as a loop back to it would serve it, after pages that
	// reached lower: a loop.
	err := run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 3,
		Below: first.Lowest}, nil)
	ae := requireAppError(t, err, ErrBadResponse, false)
	require.Contains(t, ae.Error(), "loops")

	// The real next page goes lower: fine.
	var rest PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 3,
		PageToken: first.NextPageToken, Below: first.Lowest}, &rest))
	require.True(t, rest.Done)
	require.Equal(t, pipes[44].Number, rest.Lowest)
}

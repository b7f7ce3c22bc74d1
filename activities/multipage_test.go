package activities

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// pageCount is the number of pages of n items.
func pageCount(n int) int64 { return int64(max(1, (n+circlecitest.PageSize-1)/circlecitest.PageSize)) }

// TestSyncPipelinePageSeveralPages: one activity covers MaxPages pages, then
// returns the cursor; the next one goes on from it to the end. Together they
// store the project exactly, with the dataset's minimum of requests.
func TestSyncPipelinePageSeveralPages(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 21, Projects: 1, PipelinesPerProject: 45}, tdb)
		slug := firstProject(f)
		ex := f.srv.Expected(testToken)
		pipes := projectPipelines(ex, slug)
		require.Len(t, pipes, 45)

		var first PageResult
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug,
			PageNumber: 1, MaxPages: 2}, &first))
		require.False(t, first.Done)
		require.NotEmpty(t, first.NextPageToken)
		require.EqualValues(t, 2, first.Counts.Pages)
		require.EqualValues(t, 40, first.Counts.Of(store.KindPipeline))
		require.Equal(t, pipes[0].CreatedAt, first.Newest)
		require.EqualValues(t, 1, first.Attempt)
		require.Empty(t, first.LastError)

		var rest PageResult
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug,
			PageToken: first.NextPageToken, PageNumber: 3, MaxPages: 10}, &rest))
		require.True(t, rest.Done)
		require.Empty(t, rest.NextPageToken)
		require.EqualValues(t, 1, rest.Counts.Pages)
		require.EqualValues(t, 5, rest.Counts.Of(store.KindPipeline))

		require.Equal(t, sortedIDs(pipes, func(p circlecitest.Pipeline) string { return p.ID }),
			tdb.ids(t, "circleci_pipelines", "id"))
		require.Len(t, tdb.ids(t, "circleci_workflows", "id"), len(ex.Workflows))
		require.Len(t, tdb.ids(t, "circleci_jobs", "id"), len(ex.Jobs))
		st := f.srv.Stats()
		require.Equal(t, st.Total, first.Counts.Requests+rest.Counts.Requests)
		m := ex.MinimumRequests
		require.EqualValues(t, m.PipelinePages+m.WorkflowPages+m.JobPages, st.Total,
			"paging makes exactly the dataset's minimum of requests: %+v", m)
	})
}

// TestSyncPipelinePageResumesOnALaterPage: a retry of a several-page activity
// resumes on the page its heartbeat names, after the last pipeline written,
// and its figures add to the earlier attempts'.
func TestSyncPipelinePageResumesOnALaterPage(t *testing.T) {
	opts := circlecitest.Options{Seed: 22, Projects: 1, PipelinesPerProject: 45}
	f := newFixture(t, opts, openSQLite(t))
	slug := firstProject(f)
	pipes := projectPipelines(f.srv.Expected(testToken), slug)

	// Page 2's token, as the page-1 checkpoint of a run would name it.
	var one PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug,
		PageNumber: 1, MaxPages: 1}, &one))
	page2 := one.NextPageToken
	require.NotEmpty(t, page2)

	const next = 7 // on page 2
	prior := SyncCounts{Pages: 1, Entities: map[string]int64{store.KindPipeline: 20 + next}, Requests: 100, RateLimited: 2}
	f.srv.ResetStats()
	var res PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug,
		PageNumber: 1, MaxPages: 3}, &res, func(env *testsuite.TestActivityEnvironment) {
		env.SetHeartbeatDetails(PageProgress{PageToken: page2, PageNumber: 2, Next: next,
			LastPipelineID: pipes[20+next-1].ID, Newest: pipes[0].CreatedAt, Counts: prior,
			LastError: "rate_limited: list jobs of workflow w: 429"})
	}))
	require.True(t, res.Done)
	require.EqualValues(t, 3, res.Counts.Pages)
	require.EqualValues(t, 45, res.Counts.Of(store.KindPipeline))
	require.EqualValues(t, 2, res.Counts.RateLimited)
	require.Equal(t, "rate_limited: list jobs of workflow w: 429", res.LastError, "the earlier attempt's failure is reported")
	st := f.srv.Stats()
	require.EqualValues(t, 2, st.Count(circlecitest.RouteProjectPipelines, 0), "pages 2 and 3 only")
	require.EqualValues(t, 45-20-next, st.Count(circlecitest.RoutePipelineWorkflows, 0),
		"only the pipelines after the last one written")
	require.Equal(t, prior.Requests+st.Total, res.Counts.Requests)
}

// TestSyncPipelinePageRecordsItsFailure: an attempt that fails heartbeats the
// failure, so that the retry can report it; the figures count the 429s.
func TestSyncPipelinePageRecordsItsFailure(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 23, Projects: 1, PipelinesPerProject: 10}, openSQLite(t))
	slug := firstProject(f)
	var jobLists atomic.Int64
	proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/job") && jobLists.Add(1) > 3 {
			w.Header().Set("Retry-After", "0")
			answer(w, http.StatusTooManyRequests, "Rate limited.")
			return true
		}
		return false
	})
	f.conn.BaseURL = proxy.URL
	var last PageProgress
	err := run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1, MaxPages: 2},
		nil, func(env *testsuite.TestActivityEnvironment) {
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				require.NoError(t, details.Get(&last))
			})
		})
	requireAppError(t, err, ErrRateLimited, false)
	require.Contains(t, last.LastError, ErrRateLimited+": ")
	require.Positive(t, last.Counts.RateLimited)
}

// TestSyncPipelinePageIncrementalSkipsFinalJobs: on an incremental sync the
// jobs of workflows stored terminal with an unchanged status are not listed
// again; those of the others are.
func TestSyncPipelinePageIncrementalSkipsFinalJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 24, Projects: 1, PipelinesPerProject: 30}, tdb)
		slug := firstProject(f)
		ex := f.srv.Expected(testToken)
		in := PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1, MaxPages: 5}
		require.NoError(t, run(t, f.a.SyncPipelinePage, in, nil))

		jobs := map[string]int{}
		for _, j := range ex.Jobs {
			jobs[j.WorkflowID]++
		}
		var openJobPages, allJobPages int64
		for _, w := range ex.Workflows {
			allJobPages += pageCount(jobs[w.ID])
			if !circleci.IsTerminalWorkflowStatus(w.Status) {
				openJobPages += pageCount(jobs[w.ID])
			}
		}
		require.Positive(t, openJobPages, "the dataset has running workflows")
		require.Less(t, openJobPages, allJobPages)

		f.srv.ResetStats()
		in.Incremental = true
		var res PageResult
		require.NoError(t, run(t, f.a.SyncPipelinePage, in, &res))
		st := f.srv.Stats()
		require.Equal(t, openJobPages, st.Count(circlecitest.RouteWorkflowJobs, 0),
			"only the jobs of workflows not terminal in the store are listed")
		require.EqualValues(t, len(ex.Workflows), res.Counts.Of(store.KindWorkflow))
		require.EqualValues(t, len(ex.Pipelines), st.Count(circlecitest.RoutePipelineWorkflows, 0))
	})
}

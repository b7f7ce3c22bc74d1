package activities

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestRefreshRetriesSkippedWorkflowJobs: a workflow whose job list kept answering
// 5xx during paging is written and recorded in the ledger; it is terminal and
// unchanged, so polling its pipeline would never list its jobs again. The refresh
// lists them directly (again while they fail, recording them again), and once
// they answer, stores them and clears the ledger.
func TestRefreshRetriesSkippedWorkflowJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 9, Projects: 1, PipelinesPerProject: 20}, tdb)
		slug := firstProject(f)
		ex := f.srv.Expected(testToken)
		jobsOf := map[string]int{}
		for _, j := range ex.Jobs {
			jobsOf[j.WorkflowID]++
		}
		var wf circlecitest.Workflow
		for _, w := range ex.Workflows {
			if circleci.IsTerminalWorkflowStatus(w.Status) && jobsOf[w.ID] > 0 {
				wf = w
				break
			}
		}
		require.NotEmpty(t, wf.ID, "no terminal workflow with jobs: pick another seed")

		// The proxy answers 500 to the workflow's job list while failures > 0.
		var failures, calls atomic.Int64
		jobPath := "/api/v2/workflow/" + wf.ID + "/job"
		proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != jobPath {
				return false
			}
			calls.Add(1)
			if failures.Add(-1) >= 0 {
				answer(w, http.StatusInternalServerError, `{"message":"Internal server error."}`)
				return true
			}
			return false
		})
		f.conn.BaseURL = proxy.URL
		ledger := func() []store.Skipped {
			l, err := tdb.st.Skipped(context.Background())
			require.NoError(t, err)
			return l
		}

		// Paging: three tries, then the workflow is written and skipped.
		failures.Store(3)
		var res PageResult
		require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
		require.True(t, res.Done)
		require.Equal(t, int64(1), res.Counts.Skipped)
		l := ledger()
		require.Len(t, l, 1)
		require.Equal(t, store.EntityRef{Kind: store.KindWorkflow, ID: wf.ID}, l[0].EntityRef)
		require.Equal(t, reasonServerError, l[0].Reason)
		require.Equal(t, slug, l[0].ProjectSlug)
		require.Equal(t, http.StatusInternalServerError, l[0].HTTPStatus)
		require.Contains(t, tdb.ids(t, "circleci_workflows", "id"), wf.ID)
		require.Len(t, tdb.ids(t, "circleci_jobs", "id"), len(ex.Jobs)-jobsOf[wf.ID])

		// A refresh while it still fails: tried three times, recorded again.
		failures.Store(3)
		calls.Store(0)
		var rc SyncCounts
		require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: slug}, &rc))
		require.Equal(t, int64(3), calls.Load())
		require.Equal(t, int64(1), rc.Skipped)
		require.Equal(t, int64(3), rc.ServerErrors, "each 5xx answer counted")
		require.Zero(t, rc.Of(store.KindJob))
		require.Len(t, ledger(), 1)

		// A retry that resumes after the workflow does nothing.
		calls.Store(0)
		rc = SyncCounts{}
		require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: slug}, &rc,
			func(env *testsuite.TestActivityEnvironment) {
				env.SetHeartbeatDetails(RefreshProgress{LastWorkflowID: wf.ID, Counts: SyncCounts{Requests: 7}})
			}))
		require.Zero(t, calls.Load())
		require.Equal(t, SyncCounts{Requests: 7}, rc)

		// Once the job list answers, a refresh that polls every stored pipeline
		// (their workflows are listed; this one is terminal and unchanged) stores
		// its jobs, listed once, and clears the ledger.
		calls.Store(0)
		f.srv.ResetStats()
		pipes := projectPipelines(ex, slug)
		require.NoError(t, run(t, f.a.RefreshProject, RefreshInput{Connection: f.conn, ProjectSlug: slug,
			SyncedSince: pipes[0].CreatedAt.Add(1), RerunWindowStart: pipes[len(pipes)-1].CreatedAt}, &rc))
		require.Equal(t, int64(len(pipes)), rc.Of(store.KindPipeline))
		require.GreaterOrEqual(t, rc.Of(store.KindJob), int64(jobsOf[wf.ID]))
		pages := (jobsOf[wf.ID] + circlecitest.PageSize - 1) / circlecitest.PageSize
		require.Equal(t, int64(pages), calls.Load(), "the job list is listed once")
		require.Equal(t, f.srv.Stats().Total, rc.Requests)
		require.Empty(t, ledger())
		requireStoreMatchesData(t, f, ex)
	})
}

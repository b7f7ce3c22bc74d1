package activities

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// firstProject returns the slug of the fake's first project.
func firstProject(f *fixture) string { return f.srv.Expected(testToken).Projects[0].Slug }

func TestSyncPipelinePageResumesAfterHeartbeat(t *testing.T) {
	opts := circlecitest.Options{Seed: 11, Projects: 1, PipelinesPerProject: 25}
	full := newFixture(t, opts, openSQLite(t))
	slug := firstProject(full)
	ex := full.srv.Expected(testToken)
	page1 := projectPipelines(ex, slug)[:circlecitest.PageSize]

	// The whole page, with heartbeats recorded.
	full.srv.ResetStats()
	var beats []PageProgress
	var res PageResult
	require.NoError(t, run(t, full.a.SyncPipelinePage, PageInput{Connection: full.conn, ProjectSlug: slug, PageNumber: 1},
		&res, func(env *testsuite.TestActivityEnvironment) {
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				var p PageProgress
				require.NoError(t, details.Get(&p))
				beats = append(beats, p)
			})
		}))
	fullRequests := full.srv.Stats().Total
	require.Equal(t, fullRequests, res.Counts.Requests)
	require.Equal(t, int64(circlecitest.PageSize), res.Counts.Of(store.KindPipeline))
	require.Equal(t, int64(1), res.Counts.Pages)
	require.False(t, res.Done)
	require.NotEmpty(t, res.NextPageToken)
	require.Equal(t, page1[0].CreatedAt, res.Newest)
	// Heartbeats are throttled: check those that were sent.
	require.NotEmpty(t, beats)
	for i, b := range beats {
		require.Positive(t, b.Next)
		require.Equal(t, page1[b.Next-1].ID, b.LastPipelineID)
		require.Equal(t, int64(b.Next), b.Counts.Of(store.KindPipeline))
		if i > 0 {
			require.Greater(t, b.Next, beats[i-1].Next, "heartbeats go forward")
		}
	}

	// A retry after 12 pipelines (same data, fresh store) does only the other 8.
	f := newFixture(t, opts, openSQLite(t))
	const done = 12
	prior := SyncCounts{Pages: 1, Entities: map[string]int64{store.KindPipeline: int64(done)}, Requests: 40}
	f.srv.ResetStats()
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1},
		&res, func(env *testsuite.TestActivityEnvironment) {
			env.SetHeartbeatDetails(PageProgress{PageToken: "", Next: done, LastPipelineID: page1[done-1].ID,
				Newest: page1[0].CreatedAt, Counts: prior})
		}))
	resumedRequests := f.srv.Stats().Total
	require.Less(t, resumedRequests, fullRequests)
	require.Equal(t, int64(circlecitest.PageSize), res.Counts.Of(store.KindPipeline))
	require.Equal(t, prior.Requests+resumedRequests, res.Counts.Requests)
	require.Equal(t, page1[0].CreatedAt, res.Newest)
	stored := f.tdb.ids(t, "circleci_pipelines", "id")
	require.Equal(t, sortedIDs(page1[done:], func(p circlecitest.Pipeline) string { return p.ID }), stored)

	// Progress of another page is ignored.
	g := newFixture(t, opts, openSQLite(t))
	require.NoError(t, run(t, g.a.SyncPipelinePage, PageInput{Connection: g.conn, ProjectSlug: slug, PageNumber: 1},
		&res, func(env *testsuite.TestActivityEnvironment) {
			env.SetHeartbeatDetails(PageProgress{PageToken: "other", Next: done, LastPipelineID: page1[done-1].ID})
		}))
	require.Equal(t, int64(circlecitest.PageSize), res.Counts.Of(store.KindPipeline))
	require.Len(t, g.tdb.ids(t, "circleci_pipelines", "id"), circlecitest.PageSize)
}

func TestSyncPipelinePageStopsBefore(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 30}, openSQLite(t))
	slug := firstProject(f)
	pipes := projectPipelines(f.srv.Expected(testToken), slug)
	require.True(t, pipes[5].CreatedAt.Before(pipes[4].CreatedAt))
	var res PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1,
		StopBefore: pipes[4].CreatedAt}, &res))
	require.True(t, res.Done)
	require.Empty(t, res.NextPageToken)
	require.Equal(t, int64(5), res.Counts.Of(store.KindPipeline))
	require.Equal(t, sortedIDs(pipes[:5], func(p circlecitest.Pipeline) string { return p.ID }),
		f.tdb.ids(t, "circleci_pipelines", "id"))

	// Stopping before the first pipeline processes none.
	res = PageResult{}
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1,
		StopBefore: pipes[0].CreatedAt.Add(time.Second)}, &res))
	require.True(t, res.Done)
	require.Zero(t, res.Counts.Of(store.KindPipeline))
	require.True(t, res.Newest.IsZero())
}

func TestSyncPipelinePageRecordsUnreachable(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 9, Projects: 1, PipelinesPerProject: 20,
		Faults: circlecitest.Faults{ExpiredPipelines: 3, BrokenPipelines: 2}}, openSQLite(t))
	slug := firstProject(f)
	ex := f.srv.Expected(testToken)
	require.Len(t, ex.Unreachable, 5)
	var res PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
	require.True(t, res.Done)
	require.Equal(t, int64(20), res.Counts.Of(store.KindPipeline))
	require.Equal(t, int64(5), res.Counts.Skipped)
	ledger, err := f.tdb.st.Skipped(context.Background())
	require.NoError(t, err)
	require.Len(t, ledger, 5)
	reasons := map[string]string{}
	for _, u := range ex.Unreachable {
		reasons[u.ID] = u.Reason
	}
	for _, s := range ledger {
		require.Equal(t, "pipeline", s.Kind)
		require.Equal(t, reasons[s.ID], s.Reason, "pipeline %s", s.ID)
		require.Equal(t, slug, s.ProjectSlug)
		require.NotContains(t, s.Message, testToken)
	}
	// The broken pipelines were tried three times each.
	require.Equal(t, int64(2*3), f.srv.Stats().Count("GET /api/v2/pipeline/{pipeline-id}/workflow", 500))

	// Once the faults are gone, a new pass clears the ledger.
	f.srv.SetFaults(circlecitest.Faults{})
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
	ledger, err = f.tdb.st.Skipped(context.Background())
	require.NoError(t, err)
	require.Empty(t, ledger)
	require.Zero(t, res.Counts.Skipped)
}

// TestSyncPipelinePageRateLimited: a 429 now and then is waited out inside the
// activity (the limiter holds every request until the Retry-After), and the page
// completes; 429s that go on fail the activity retryably, after the completed
// prefix was written and heartbeated, and the retry resumes there.
func TestSyncPipelinePageRateLimited(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 2, Projects: 1, PipelinesPerProject: 20,
		Faults: circlecitest.Faults{Random429Rate: 0.04}}, openSQLite(t))
	f.a.PageConcurrency = 1
	slug := firstProject(f)
	var res PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
	limited := f.srv.Stats().CountStatus(429)
	require.Positive(t, limited, "the seed draws a 429: pick another")
	require.Equal(t, limited, res.Counts.RateLimited)
	require.Len(t, f.tdb.ids(t, "circleci_pipelines", "id"), 20)

	// Now every request after the 30th is answered 429.
	g := newFixture(t, circlecitest.Options{Seed: 2, Projects: 1, PipelinesPerProject: 20}, openSQLite(t))
	g.a.PageConcurrency = 1
	var n atomic.Int64
	proxy := newProxy(t, g.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if n.Add(1) > 30 {
			w.Header().Set("Retry-After", "1")
			answer(w, http.StatusTooManyRequests, "Rate limited.")
			return true
		}
		return false
	})
	g.conn.BaseURL = proxy.URL
	var beats []PageProgress
	err := run(t, g.a.SyncPipelinePage, PageInput{Connection: g.conn, ProjectSlug: slug, PageNumber: 1}, nil,
		func(env *testsuite.TestActivityEnvironment) {
			env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
				var p PageProgress
				require.NoError(t, details.Get(&p))
				beats = append(beats, p)
			})
		})
	ae := requireAppError(t, err, ErrRateLimited, false)
	require.GreaterOrEqual(t, ae.NextRetryDelay(), time.Second)
	require.EqualValues(t, 30+1+rateLimitRetries, n.Load(), "the request is tried %d times in all", 1+rateLimitRetries)
	// What was complete before the 429s was written and heartbeated.
	stored := g.tdb.ids(t, "circleci_pipelines", "id")
	require.NotEmpty(t, stored)
	require.NotEmpty(t, beats)
	progress := beats[len(beats)-1]
	require.Equal(t, len(stored), progress.Next)
	require.EqualValues(t, 1+rateLimitRetries, progress.Counts.RateLimited)

	// The retry resumes there.
	g.conn.BaseURL = g.srv.URL
	g.srv.ResetStats()
	require.NoError(t, run(t, g.a.SyncPipelinePage, PageInput{Connection: g.conn, ProjectSlug: slug, PageNumber: 1},
		&res, func(env *testsuite.TestActivityEnvironment) { env.SetHeartbeatDetails(progress) }))
	require.Equal(t, int64(20), res.Counts.Of(store.KindPipeline))
	require.Len(t, g.tdb.ids(t, "circleci_pipelines", "id"), 20)
	require.Equal(t, progress.Counts.Requests+g.srv.Stats().Total, res.Counts.Requests)
}

func TestStartProjectUnknownProject(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 1, Projects: 1, PipelinesPerProject: 3}, openSQLite(t))
	err := run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: "gh/acme/no-such-repo"}, nil)
	ae := requireAppError(t, err, ErrProjectNotFound, true)
	require.Contains(t, ae.Error(), "gh/acme/no-such-repo")

	err = run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: ""}, nil)
	requireAppError(t, err, ErrInvalidInput, true)

	// A first sync with Since stops there; the project row is written.
	slug := firstProject(f)
	since := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	var plan ProjectPlan
	require.NoError(t, run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: slug, Since: since}, &plan))
	require.False(t, plan.Incremental)
	require.Equal(t, since, plan.StopBefore)
	require.Equal(t, int64(1), plan.Requests)
	require.Equal(t, int64(1), plan.Written)
	require.WithinDuration(t, time.Now(), plan.StartedAt, time.Minute)
	require.Equal(t, []string{slug}, f.tdb.ids(t, "circleci_projects", "slug"))

	// The watermark never moves back.
	w1 := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, run(t, f.a.CompleteProject, CompleteProjectInput{Connection: f.conn, ProjectSlug: slug, Watermark: w1}, nil))
	require.NoError(t, run(t, f.a.CompleteProject, CompleteProjectInput{Connection: f.conn, ProjectSlug: slug,
		Watermark: w1.Add(-time.Hour)}, nil))
	require.NoError(t, run(t, f.a.StartProject, StartProjectInput{Connection: f.conn, ProjectSlug: slug, Since: since,
		Overlap: Duration(2 * time.Hour)}, &plan))
	require.True(t, plan.Incremental)
	require.Equal(t, w1, plan.Watermark)
	require.Equal(t, w1.Add(-2*time.Hour), plan.StopBefore)
}

// TestSyncPipelinePageStalePageToken: a page token CircleCI no longer accepts is
// a non-retryable ErrStalePageToken (the workflow restarts paging), whether it
// answers 400 "Invalid page-token." (the fake, for a token it cannot read) or
// 404 (CircleCI, now and then). A 404 on the first page stays a missing project.
func TestSyncPipelinePageStalePageToken(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 30}, openSQLite(t))
	slug := firstProject(f)

	// The fake: 400 for a garbled token.
	err := run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 2,
		PageToken: "Z2FyYmxlZA=="}, nil)
	ae := requireAppError(t, err, ErrStalePageToken, true)
	require.Contains(t, ae.Error(), "restart from the first page")
	require.Contains(t, ae.Error(), "page 2")
	require.Equal(t, int64(1), f.srv.Stats().Count(circlecitest.RouteProjectPipelines, 400))
	require.Empty(t, f.tdb.ids(t, "circleci_pipelines", "id"))

	// CircleCI's 404 on a request with a page token.
	var res PageResult
	require.NoError(t, run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 1}, &res))
	require.NotEmpty(t, res.NextPageToken)
	proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/pipeline") && r.URL.Query().Get("page-token") != "" {
			answer(w, http.StatusNotFound, `{"message":"Not Found"}`)
			return true
		}
		return false
	})
	f.conn.BaseURL = proxy.URL
	err = run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: slug, PageNumber: 2,
		PageToken: res.NextPageToken}, nil)
	ae = requireAppError(t, err, ErrStalePageToken, true)
	require.Contains(t, ae.Error(), "HTTP 404")

	// The first page of a project that does not exist.
	err = run(t, f.a.SyncPipelinePage, PageInput{Connection: f.conn, ProjectSlug: "gh/acme/no-such-repo", PageNumber: 1}, nil)
	requireAppError(t, err, ErrProjectNotFound, true)
}

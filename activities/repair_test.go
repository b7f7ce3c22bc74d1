package activities

import (
	"context"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// oldReruns reruns pipelines at least two weeks old, from start and from failed,
// then moves the clock past Insights' lag.
var oldReruns = circlecitest.Advance{Reruns: 2, RerunsFromFailed: 2, RerunMinAge: 14 * 24 * time.Hour}

// rerunOptions returns the options of the first seed whose oldReruns reruns both ways.
func rerunOptions(t *testing.T, extra circlecitest.Options) circlecitest.Options {
	t.Helper()
	for seed := int64(1); seed <= 100; seed++ {
		opts := extra
		opts.Seed, opts.Projects, opts.PipelinesPerProject = seed, max(opts.Projects, 1), 60
		opts.Now = time.Now().UTC().Truncate(time.Second)
		res := circlecitest.NewHandler(opts).Advance(oldReruns)
		if len(res.RerunWorkflows) == 2 && len(res.RerunFromFailedWorkflows) == 2 {
			return opts
		}
	}
	t.Fatal("no seed in 1..100 reruns two old pipelines each way")
	return circlecitest.Options{}
}

// rerunFixture syncs every project fully, then reruns old pipelines past the lag.
func rerunFixture(t *testing.T, tdb testDB, extra circlecitest.Options) (*fixture, circlecitest.AdvanceResult) {
	t.Helper()
	f := newFixture(t, rerunOptions(t, extra), tdb)
	for _, p := range f.srv.Expected(testToken).Projects {
		f.conn.OrgSlug = orgOf(p.Slug)
		syncProject(t, f, p.Slug, time.Time{})
	}
	adv := f.srv.Advance(oldReruns)
	f.srv.Advance(circlecitest.Advance{Step: 2 * circlecitest.DefaultInsightsLag})
	return f, adv
}

// jobPairs returns the sorted "workflow_id/id" of the expected jobs, or of the stored ones.
func jobPairs(t *testing.T, ex *circlecitest.Expected, d testDB) []string {
	if ex != nil {
		return sortedIDs(ex.Jobs, func(j circlecitest.Job) string { return j.WorkflowID + "/" + j.ID })
	}
	return d.ids(t, "circleci_jobs", "workflow_id || '/' || id")
}

// TestRepairProjectFindsOldReruns: reruns on pipelines weeks old, which paging
// never reaches, are found through Insights and stored, jobs per (workflow,
// job); the pass costs the summary page, the run lists and, per unknown run, its
// workflow and its job list pages; a second pass finds nothing unknown.
func TestRepairProjectFindsOldReruns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, adv := rerunFixture(t, tdb, circlecitest.Options{})
		slug := firstProject(f)
		ex := f.srv.Expected(testToken)
		require.NotEqual(t, jobPairs(t, &ex, tdb), jobPairs(t, nil, tdb), "the reruns are not stored yet")

		f.srv.ResetStats()
		var res RepairResult
		in := RepairInput{Connection: f.conn, ProjectSlug: slug, From: time.Now().Add(-RepairMargin), ReadNames: true}
		require.NoError(t, run(t, f.a.RepairProject, in, &res))
		require.Equal(t, sortedIDs(ex.Workflows, func(w circlecitest.Workflow) string { return w.ID }),
			tdb.ids(t, "circleci_workflows", "id"))
		require.Equal(t, jobPairs(t, &ex, tdb), jobPairs(t, nil, tdb))

		reruns := append(slices.Clone(adv.RerunWorkflows), adv.RerunFromFailedWorkflows...)
		require.EqualValues(t, len(reruns), res.Unknown)
		want := int64(1) + res.RunLists // the summary page, the run lists
		for _, id := range reruns {
			n := 0
			for _, j := range ex.Jobs {
				if j.WorkflowID == id {
					n++
				}
			}
			want += 1 + pageCount(n)
		}
		require.Equal(t, want, res.Counts.Requests, "%+v", res)
		require.Equal(t, want, f.srv.Stats().Total)
		t.Logf("repair pass: %d requests (%d run lists, %d runs, %d unknown) = minimum %d", res.Counts.Requests,
			res.RunLists, res.Runs, res.Unknown, want)

		st, err := tdb.st.ProjectState(context.Background(), f.conn.ConnectionID, slug)
		require.NoError(t, err)
		require.True(t, res.StartedAt.Truncate(time.Microsecond).Equal(st.RepairedAt))
		require.NotEmpty(t, st.InsightsNames)

		in.ReadNames = false
		var again RepairResult
		require.NoError(t, run(t, f.a.RepairProject, in, &again))
		require.Zero(t, again.Unknown)
		require.Equal(t, again.RunLists, again.Counts.Requests, "no summary read, nothing unknown")
	})
}

// TestRepairProjectBadInsights: a name whose runs answer 404 (renamed) is skipped;
// 500s are retried, then fail retryably; a 429 is waited out; garbage is a
// bad_response; a run whose workflow answers 404 goes to the ledger and is not
// asked again.
func TestRepairProjectBadInsights(t *testing.T) {
	f, adv := rerunFixture(t, openSQLite(t), circlecitest.Options{})
	slug := firstProject(f)
	var mu sync.Mutex
	var fault func(w http.ResponseWriter, r *http.Request) bool
	var workflowGets []string
	proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/api/v2/workflow/") && !strings.HasSuffix(r.URL.Path, "/job") {
			workflowGets = append(workflowGets, strings.TrimPrefix(r.URL.Path, "/api/v2/workflow/"))
		}
		return fault != nil && fault(w, r)
	})
	f.conn.BaseURL = proxy.URL
	setFault := func(fn func(w http.ResponseWriter, r *http.Request) bool) {
		mu.Lock()
		defer mu.Unlock()
		fault, workflowGets = fn, nil
	}
	runsRoute := func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/insights/") && strings.Contains(r.URL.EscapedPath(), "/workflows/")
	}
	in := RepairInput{Connection: f.conn, ProjectSlug: slug, From: time.Now().Add(-RepairMargin), ReadNames: true}

	t.Run("500", func(t *testing.T) {
		setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if runsRoute(r) {
				answer(w, http.StatusInternalServerError, `{"message":"boom"}`)
				return true
			}
			return false
		})
		requireAppError(t, run(t, f.a.RepairProject, in, nil), ErrServer, false)
	})
	t.Run("garbage", func(t *testing.T) {
		setFault(func(w http.ResponseWriter, r *http.Request) bool {
			if runsRoute(r) {
				answer(w, http.StatusOK, `<html>not json</html>`)
				return true
			}
			return false
		})
		requireAppError(t, run(t, f.a.RepairProject, in, nil), ErrBadResponse, false)
	})
	t.Run("404_name_429_and_404_run", func(t *testing.T) {
		gone := adv.RerunWorkflows[0]
		goneName := ""
		for _, w := range f.srv.Expected(testToken).Workflows {
			if w.ID == gone {
				goneName = w.Name
			}
		}
		limited := false
		var renamed string
		setFault(func(w http.ResponseWriter, r *http.Request) bool {
			switch {
			case runsRoute(r) && !limited:
				limited = true
				w.Header().Set("Retry-After", "0")
				answer(w, http.StatusTooManyRequests, `{"message":"Rate limit exceeded"}`)
				return true
			case runsRoute(r) && renamed == "" && runName(r) != goneName:
				renamed = runName(r)
				answer(w, http.StatusNotFound, `{"message":"Workflow not found"}`)
				return true
			case r.URL.Path == "/api/v2/workflow/"+gone:
				answer(w, http.StatusNotFound, `{"message":"Workflow not found"}`)
				return true
			}
			return false
		})
		var res RepairResult
		require.NoError(t, run(t, f.a.RepairProject, in, &res))
		require.EqualValues(t, 1, res.MissingNames, "the name answering 404 is skipped: %s", renamed)
		require.EqualValues(t, 1, res.Counts.RateLimited)
		ledger, err := f.tdb.st.Skipped(context.Background())
		require.NoError(t, err)
		require.True(t, slices.ContainsFunc(ledger, func(s store.Skipped) bool {
			return s.Kind == store.KindWorkflow && s.ID == gone && s.Reason == reasonNotFound && s.HTTPStatus == 404
		}), "the run whose workflow answers 404 is in the ledger")

		setFault(nil)
		require.NoError(t, run(t, f.a.RepairProject, in, &res))
		require.NotContains(t, workflowGets, gone, "a run in the ledger is not asked again")
	})
}

// TestRepairProjectOddNames: workflow names with spaces, '/', '%' and unicode are
// sent as one escaped path segment and found (no name answers 404).
func TestRepairProjectOddNames(t *testing.T) {
	f, _ := rerunFixture(t, openSQLite(t), circlecitest.Options{OddProjects: 1, OddWorkflowNames: true})
	var mu sync.Mutex
	var paths []string
	proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		paths = append(paths, r.URL.EscapedPath())
		return false
	})
	ex := f.srv.Expected(testToken)
	odd := ex.Projects[len(ex.Projects)-1].Slug
	f.conn.BaseURL, f.conn.OrgSlug = proxy.URL, orgOf(odd)
	var res RepairResult
	require.NoError(t, run(t, f.a.RepairProject, RepairInput{Connection: f.conn, ProjectSlug: odd,
		From: time.Now().Add(-InsightsHorizon), ReadNames: true}, &res))
	require.Zero(t, res.MissingNames)
	require.Positive(t, res.Runs)
	for _, tail := range []string{"/workflows/deploy%2Fprod", "/workflows/build%20and%20test", "/workflows/100%25%20green"} {
		require.True(t, slices.ContainsFunc(paths, func(p string) bool { return strings.HasSuffix(p, tail) }),
			"no request ends in %s", tail)
	}
}

// runName is the workflow name of an Insights runs request.
func runName(r *http.Request) string {
	name, _ := url.PathUnescape(path.Base(r.URL.EscapedPath()))
	return name
}

// TestRepairProjectResumes: a retry keeps the first attempt's start and resumes
// after the last name done (here every name: no run list is read).
func TestRepairProjectResumes(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 4}, openSQLite(t))
	slug := firstProject(f)
	syncProject(t, f, slug, time.Time{})
	started := time.Now().Add(-time.Minute).UTC()
	var res RepairResult
	require.NoError(t, run(t, f.a.RepairProject, RepairInput{Connection: f.conn, ProjectSlug: slug,
		From: time.Now().Add(-RepairMargin)}, &res, func(env *testsuite.TestActivityEnvironment) {
		env.SetHeartbeatDetails(RepairProgress{Result: RepairResult{StartedAt: started}, LastName: "\uffff"})
	}))
	require.Zero(t, res.RunLists)
	require.True(t, started.Equal(res.StartedAt))
}

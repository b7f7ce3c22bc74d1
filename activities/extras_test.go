package activities

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

var extrasOpts = circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 4}

// syncExtras runs SyncJobExtras until done and returns the summed counts.
func syncExtras(t *testing.T, f *fixture, slug string, x JobExtras) SyncCounts {
	t.Helper()
	var counts SyncCounts
	after := int64(0)
	for n := 0; ; n++ {
		require.Less(t, n, 100, "the extras do not end")
		var res JobExtrasResult
		require.NoError(t, run(t, f.a.SyncJobExtras, JobExtrasInput{Connection: f.conn, ProjectSlug: slug, Extras: x,
			After: after, MaxJobs: 60}, &res))
		counts.Add(res.Counts)
		after = res.After
		if res.Done {
			return counts
		}
	}
}

// TestSyncJobExtras: details and every test page of each terminal build job,
// equal to the fake's truth, at the least number of requests; a second sync reads
// nothing (each job's extras are read once).
func TestSyncJobExtras(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, extrasOpts, tdb)
		slug := "gh/acme/api"
		syncProject(t, f, slug, time.Time{})
		details := f.srv.ExpectedJobDetails(testToken)
		tests, testRequests := f.srv.ExpectedTests(testToken, nil)
		f.srv.ResetStats()
		c := syncExtras(t, f, slug, JobExtras{Details: true, Tests: true})
		require.Equal(t, int64(len(details)+testRequests), f.srv.Stats().Total)
		require.Equal(t, f.srv.Stats().Total, c.Requests)
		require.Equal(t, int64(len(details)), c.Of(store.KindJobDetails))

		var want, wantTests, wantLedger []string
		for _, d := range details {
			want = append(want, fmt.Sprintf("%d|%s|%s|%s|%d", d.Number, d.JobID, d.LatestWorkflow, d.ResourceClass,
				*d.DurationMS))
		}
		results := 0
		for _, tt := range tests {
			outcome := store.TestsFetched
			if len(tt.Results) == 0 {
				outcome = store.TestsEmpty
			}
			wantLedger = append(wantLedger, fmt.Sprintf("%d|%s|%d", tt.Number, outcome, len(tt.Results)))
			for k, r := range tt.Results {
				results++
				wantTests = append(wantTests, fmt.Sprintf("%d|%d|%s|%s|%s", tt.Number, k, r.Classname, r.Name, r.Result))
			}
		}
		require.Equal(t, int64(results), c.Of(store.KindTestResult))
		require.ElementsMatch(t, want, tdb.rows(t, `SELECT CAST(job_number AS TEXT), job_id, workflow_id, resource_class,
			CAST(duration_ms AS TEXT) FROM circleci_job_details`))
		require.ElementsMatch(t, wantTests, tdb.rows(t, `SELECT CAST(job_number AS TEXT), CAST(ordinal AS TEXT), classname,
			name, result FROM circleci_test_results`))
		require.ElementsMatch(t, wantLedger, tdb.rows(t, `SELECT CAST(job_number AS TEXT), outcome,
			CAST(result_count AS TEXT) FROM circleci_job_tests`))

		f.srv.ResetStats()
		again := syncExtras(t, f, slug, JobExtras{Details: true, Tests: true})
		require.Zero(t, f.srv.Stats().Total, "a job's extras are read once")
		require.Zero(t, again.Requests)
	})
}

// TestSyncJobExtrasTestsJobs: tests_jobs narrows the tests read to matching jobs.
func TestSyncJobExtrasTestsJobs(t *testing.T) {
	f := newFixture(t, extrasOpts, openSQLite(t))
	slug := "gh/acme/api"
	syncProject(t, f, slug, time.Time{})
	tests, requests := f.srv.ExpectedTests(testToken, func(name string) bool { return strings.HasPrefix(name, "unit") })
	require.NotEmpty(t, tests)
	f.srv.ResetStats()
	syncExtras(t, f, slug, JobExtras{Tests: true, TestsJobs: "^unit"})
	require.Equal(t, int64(requests), f.srv.Stats().Total)
	require.Len(t, f.tdb.rows(t, `SELECT CAST(job_number AS TEXT) FROM circleci_job_tests`), len(tests))

	err := run(t, f.a.SyncJobExtras, JobExtrasInput{Connection: f.conn, ProjectSlug: slug,
		Extras: JobExtras{Tests: true, TestsJobs: "("}}, nil)
	requireAppError(t, err, ErrInvalidInput, true)
}

// TestSyncJobExtrasBadInput: details answering 404, 500 for good, garbage; tests
// answering garbage or a 10 MB message; a job number CircleCI does not know. Each
// is a ledger entry, the sync ends, and the next reads none of them again.
func TestSyncJobExtrasBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, extrasOpts, tdb)
		slug := "gh/acme/api"
		syncProject(t, f, slug, time.Time{})
		details := f.srv.ExpectedJobDetails(testToken)
		require.Greater(t, len(details), 5)
		n := func(i int) string { return strconv.FormatInt(details[i].Number, 10) }
		huge := `{"items":[{"message":"` + strings.Repeat("x", 10<<20) +
			`","source":"junit","run_time":1,"file":"f","result":"failure","name":"n","classname":"c"}],"next_page_token":null}`
		respond := func(w http.ResponseWriter, status int, body string) bool { answer(w, status, body); return true }
		var healed atomic.Bool // the server error is gone
		bad := map[string]func(w http.ResponseWriter) bool{
			"/job/" + n(0): func(w http.ResponseWriter) bool { return respond(w, http.StatusNotFound, `{"message":"Not Found"}`) },
			"/job/" + n(1): func(w http.ResponseWriter) bool {
				return !healed.Load() && respond(w, http.StatusInternalServerError, `{"message":"boom"}`)
			},
			"/job/" + n(2):        func(w http.ResponseWriter) bool { return respond(w, http.StatusOK, `{"number": "garbage`) },
			"/" + n(3) + "/tests": func(w http.ResponseWriter) bool { return respond(w, http.StatusOK, `<html>oops</html>`) },
			"/" + n(4) + "/tests": func(w http.ResponseWriter) bool { return respond(w, http.StatusOK, huge) },
		}
		proxy := newProxy(t, f.srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
			for suffix, h := range bad {
				if strings.HasSuffix(r.URL.Path, suffix) {
					return h(w)
				}
			}
			return false
		})
		f.conn.BaseURL = proxy.URL
		// A job number CircleCI does not know (a row the store holds by mistake).
		ghost := circleci.Job{ID: "00000000-0000-4000-8000-000000000001", WorkflowID: "w-ghost", Name: "ghost",
			Type: circleci.JobTypeBuild, Status: circleci.JobStatusSuccess, ProjectSlug: slug,
			JobNumber: ptrTo(int64(99999999)), Dependencies: []string{}}
		_, err := f.a.Store.WriteBatch(t.Context(), store.Batch{Jobs: []circleci.Job{ghost}})
		require.NoError(t, err)

		syncExtras(t, f, slug, JobExtras{Details: true, Tests: true})
		ledger := tdb.rows(t, `SELECT kind, id, reason FROM circleci_skipped`)
		ref := func(i int) string { return slug + "/" + n(i) }
		require.ElementsMatch(t, []string{
			"job_details|" + ref(0) + "|" + reasonExpired, "job_details|" + ref(1) + "|" + reasonServerError,
			"job_details|" + ref(2) + "|" + reasonBadResponse, "job_tests|" + ref(3) + "|" + reasonBadResponse,
			"job_tests|" + ref(4) + "|" + reasonBadResponse,
			"job_details|" + slug + "/99999999|" + reasonExpired, "job_tests|" + slug + "/99999999|" + reasonExpired,
		}, ledger)

		f.srv.ResetStats()
		syncExtras(t, f, slug, JobExtras{Details: true, Tests: true})
		require.Zero(t, f.srv.Stats().Total, "a skipped job is not read again")

		// Once due (ExtrasRetryAfter), the server error's job is read again: its
		// details are stored and its entry goes; the other reasons stay.
		healed.Store(true)
		f.a.ExtrasRetryAfter = -time.Minute
		f.srv.ResetStats()
		syncExtras(t, f, slug, JobExtras{Details: true, Tests: true})
		require.Equal(t, int64(1), f.srv.Stats().Total, "only the server error's job is read again")
		require.ElementsMatch(t, slices.DeleteFunc(ledger, func(e string) bool {
			return e == "job_details|"+ref(1)+"|"+reasonServerError
		}), tdb.rows(t, `SELECT kind, id, reason FROM circleci_skipped`))
		require.Contains(t, tdb.rows(t, `SELECT CAST(job_number AS TEXT) FROM circleci_job_details`), n(1))
	})
}

func ptrTo[T any](v T) *T { return &v }

package e2e

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestJobExtras: a sync with include job_details and tests stores each terminal
// build job's details and test results equal to the fake's truth; after new
// pipelines and finished work, a second cycle reads only the new jobs' extras (over
// both cycles each job's details and tests were read once), and the tables still
// equal the truth, the default tables too.
func TestJobExtras(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			tsrv := startTemporal(t)
			dbURL := b.url(t)
			o := datasetOptions(15)
			o.PipelinesPerProject = 12
			fake := startFake(t, o)
			tokenEnv := newEnvName("TOKEN")
			t.Setenv(tokenEnv, fake.Token())
			tq := newID("e2e-extras-" + b.name)
			startWorker(t, tsrv, tq, dbURL)
			s := &syncer{c: tsrv.Client(), taskQueue: tq}
			ins := connectionInputs(fake, newID("extras"), tokenEnv)
			for i := range ins {
				ins[i].Include = []string{workflows.IncludeJobDetails, workflows.IncludeTests}
			}
			logResults(t, "full", ins, s.syncAll(t, ins))
			requireExtrasEqual(t, fake, dbURL)

			fake.Advance(circlecitest.Advance{NewPipelines: 6, FinishRunning: true})
			logResults(t, "cycle", ins, s.syncAll(t, ins))
			requireTablesEqual(t, dbURL, fake.Expected(fake.Token()))
			details, tests := requireExtrasEqual(t, fake, dbURL)
			st := fake.Stats()
			require.Equal(t, int64(details), sumStatus(st.Requests[circlecitest.RouteJobDetails]),
				"each job's details read once over both cycles")
			require.Equal(t, int64(tests), sumStatus(st.Requests[circlecitest.RouteJobTests]),
				"each job's test pages read once over both cycles")
		})
	}
}

// sumStatus adds up requests by status.
func sumStatus(m map[int]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// requireExtrasEqual compares the job details, test results and tests ledger
// with the fake's truth; it returns how many details and test requests the truth
// takes to read.
func requireExtrasEqual(t *testing.T, fake *circlecitest.Server, dbURL string) (details, testRequests int) {
	t.Helper()
	db, err := openDB(dbURL)
	require.NoError(t, err)
	defer db.Close()
	truth := fake.ExpectedJobDetails(fake.Token())
	var want []string
	for _, d := range truth {
		want = append(want, fmt.Sprintf("%s|%d|%s|%s|%s|%d|%s|%s|%d|%s|%s", d.ProjectSlug, d.Number, d.JobID,
			d.LatestWorkflow, d.Status, *d.DurationMS, d.ExecutorType, d.ResourceClass, d.Parallelism,
			strings.Join(d.Contexts, ","), d.WebURL))
	}
	got := queryLines(t, db, `SELECT project_slug, job_number, job_id, workflow_id, status, duration_ms,
		COALESCE(executor_type, ''), resource_class, parallelism, contexts, web_url FROM circleci_job_details`,
		func(cols []string) string {
			cols[9] = strings.NewReplacer(`"`, "", "[", "", "]", "", " ", "").Replace(cols[9])
			return strings.Join(cols, "|")
		})
	require.ElementsMatch(t, want, got, "circleci_job_details")

	tests, requests := fake.ExpectedTests(fake.Token(), nil)
	var wantTests, wantLedger []string
	for _, tt := range tests {
		outcome := "fetched"
		if len(tt.Results) == 0 {
			outcome = "empty"
		}
		wantLedger = append(wantLedger, fmt.Sprintf("%s|%d|%s|%d", tt.ProjectSlug, tt.Number, outcome, len(tt.Results)))
		for k, r := range tt.Results {
			msg := ""
			if r.Message != nil {
				msg = *r.Message
			}
			wantTests = append(wantTests, fmt.Sprintf("%s|%d|%d|%s|%s|%s|%s|%s|%s|%.3f", tt.ProjectSlug, tt.Number, k,
				r.Classname, r.Name, r.File, r.Result, r.Source, msg, r.RunTime))
		}
	}
	join := func(cols []string) string { return strings.Join(cols, "|") }
	require.ElementsMatch(t, wantLedger, queryLines(t, db, `SELECT project_slug, job_number, outcome, result_count
		FROM circleci_job_tests`, join), "circleci_job_tests")
	require.ElementsMatch(t, wantTests, queryLines(t, db, `SELECT project_slug, job_number, ordinal, classname, name,
		file, result, source, COALESCE(message, ''), run_time FROM circleci_test_results`, func(cols []string) string {
		var f float64
		_, err := fmt.Sscan(cols[9], &f)
		require.NoError(t, err)
		cols[9] = fmt.Sprintf("%.3f", f)
		return join(cols)
	}), "circleci_test_results")
	t.Logf("extras equal to the truth: %d job details, %d jobs' tests, %d results", len(truth), len(tests), len(wantTests))
	return len(truth), requests
}

// queryLines reads every row of query as text columns, each turned into a line by line.
func queryLines(t *testing.T, db *sql.DB, query string, line func([]string) string) []string {
	t.Helper()
	rs, err := db.Query(query)
	require.NoError(t, err)
	defer rs.Close()
	cols, err := rs.Columns()
	require.NoError(t, err)
	var out []string
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rs.Scan(ptrs...))
		s := make([]string, len(cols))
		for i, v := range vals {
			s[i] = v.String
		}
		out = append(out, line(s))
	}
	require.NoError(t, rs.Err())
	return out
}

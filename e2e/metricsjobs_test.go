package e2e

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestJobViewsMatchTruth syncs the fake with job details and tests into each backend,
// then requires circleci_job_queue_daily to equal queue times worked out from the
// fake's job details (TestJobExtras: equal to the stored ones), and circleci_test_flakes the flakes worked out from its test
// results (a test that passed and failed on one commit).
func TestJobViewsMatchTruth(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dbURL := b.url(t)
			fake := startFake(t, recentRerunOptions(t))
			tokenEnv := newEnvName("TOKEN")
			t.Setenv(tokenEnv, fake.Token())
			tq := newID("e2e-jobviews-" + b.name)
			startWorker(t, tsrv, tq, dbURL)
			s := &syncer{c: tsrv.Client(), taskQueue: tq}
			ins := connectionInputs(fake, newID("jobviews"), tokenEnv)
			for i := range ins {
				ins[i].Include = []string{workflows.IncludeJobDetails, workflows.IncludeTests}
			}
			logResults(t, "full", ins, s.syncAll(t, ins))
			db, err := openDB(dbURL)
			require.NoError(t, err)
			defer db.Close()

			want := queueTruth(fake.ExpectedJobDetails(fake.Token()))
			require.NotEmpty(t, want)
			require.Equal(t, want, storedQueues(t, db))
			flakes := flakeTruth(t, db, fake)
			require.Equal(t, flakes, storedFlakes(t, db))
			t.Logf("%d queue rows (project, resource class, day) and %d flakes equal the fake's truth", len(want), len(flakes))
		})
	}
}

// queueTruth is "slug class day: jobs p50 p95 max" (ms, nearest rank) per project,
// resource class and day of queued_at.
func queueTruth(details []circlecitest.JobDetailsTruth) map[string]string {
	waits := map[string][]int64{}
	for _, d := range details {
		k := d.ProjectSlug + " " + d.ResourceClass + " " + d.QueuedAt.UTC().Format(time.DateOnly)
		waits[k] = append(waits[k], int64(d.StartedAt.Sub(d.QueuedAt)/time.Millisecond))
	}
	out := map[string]string{}
	for k, ws := range waits {
		slices.Sort(ws)
		rank := func(q int) int64 { return ws[(q*len(ws)+99)/100-1] }
		out[k] = fmt.Sprintf("%d %d %d %d", len(ws), rank(50), rank(95), ws[len(ws)-1])
	}
	return out
}

// storedQueues reads circleci_job_queue_daily as queueTruth shapes it.
func storedQueues(t *testing.T, db *sql.DB) map[string]string {
	rows, err := db.QueryContext(t.Context(), `SELECT project_slug, resource_class, CAST(day AS TEXT), jobs,
		queue_p50_ms, queue_p95_ms, queue_max_ms FROM circleci_job_queue_daily`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var slug, class, day string
		var n, p50, p95, mx int64
		require.NoError(t, rows.Scan(&slug, &class, &day, &n, &p50, &p95, &mx))
		out[slug+" "+class+" "+day] = fmt.Sprintf("%d %d %d %d", n, p50, p95, mx)
	}
	require.NoError(t, rows.Err())
	return out
}

// flakeTruth is "passes failures" per test and commit with both, from the fake's
// test results; a job's commit is its pipeline's stored vcs_revision (the tables
// equal the fake's truth, TestSync).
func flakeTruth(t *testing.T, db *sql.DB, fake *circlecitest.Server) map[string]string {
	d := fake.Dataset()
	pipelineOf := map[string]string{}
	for _, w := range d.Workflows {
		pipelineOf[w.ID] = w.PipelineID
	}
	type jobKey struct {
		slug   string
		number int64
	}
	jobs := map[jobKey]circlecitest.Job{}
	for _, j := range d.Jobs {
		if j.JobNumber != nil {
			jobs[jobKey{j.ProjectSlug, *j.JobNumber}] = j
		}
	}
	revision := map[string]string{}
	rows, err := db.QueryContext(t.Context(), `SELECT id, vcs_revision FROM circleci_pipelines WHERE vcs_revision IS NOT NULL`)
	require.NoError(t, err)
	for rows.Next() {
		var id, rev string
		require.NoError(t, rows.Scan(&id, &rev))
		revision[id] = rev
	}
	require.NoError(t, rows.Err())
	rows.Close()
	counts := map[string][2]int{}
	tests, _ := fake.ExpectedTests(fake.Token(), nil)
	for _, tt := range tests {
		j := jobs[jobKey{tt.ProjectSlug, tt.Number}]
		rev, ok := revision[pipelineOf[j.WorkflowID]]
		if !ok {
			continue
		}
		for _, r := range tt.Results {
			k := fmt.Sprintf("%s|%s|%s|%s|%s|%s", tt.ProjectSlug, j.Name, r.Classname, r.Name, r.File, rev)
			c := counts[k]
			switch r.Result {
			case "success":
				c[0]++
			case "failure", "error":
				c[1]++
			}
			counts[k] = c
		}
	}
	out := map[string]string{}
	for k, c := range counts {
		if c[0] > 0 && c[1] > 0 {
			out[k] = fmt.Sprintf("%d %d", c[0], c[1])
		}
	}
	return out
}

// storedFlakes reads circleci_test_flakes as flakeTruth shapes it.
func storedFlakes(t *testing.T, db *sql.DB) map[string]string {
	rows, err := db.QueryContext(t.Context(), `SELECT project_slug, job_name, classname, name, file, revision,
		passes, failures FROM circleci_test_flakes`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var slug, job, class, name, file, rev string
		var passes, failures int64
		require.NoError(t, rows.Scan(&slug, &job, &class, &name, &file, &rev, &passes, &failures))
		out[fmt.Sprintf("%s|%s|%s|%s|%s|%s", slug, job, class, name, file, rev)] = fmt.Sprintf("%d %d", passes, failures)
	}
	require.NoError(t, rows.Err())
	return out
}

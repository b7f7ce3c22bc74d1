package store

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// newJobDetails is the details of a terminal build job.
func newJobDetails(slug string, number int64, jobID string) circleci.JobDetails {
	d := circleci.JobDetails{
		Number: number, Name: "test", Status: circleci.JobStatusSuccess, WebURL: "https://app.example/j",
		CreatedAt: ptr(at(0)), QueuedAt: ptr(at(1)), StartedAt: ptr(at(3)), StoppedAt: ptr(at(5)),
		Duration: ptr(int64(120000)), Parallelism: 2,
		Executor:       circleci.JobExecutor{ResourceClass: "medium", Type: "docker"},
		Contexts:       []circleci.JobContext{{Name: "aws"}, {Name: "npm"}},
		LatestWorkflow: circleci.JobWorkflowRef{ID: "w2", Name: "build"},
		ProjectSlug:    slug, JobID: jobID,
	}
	d.Pipeline.ID = "p1"
	d.Raw, _ = json.Marshal(d)
	return d
}

// newTestResult is a passing test result at ordinal.
func newTestResult(slug string, number, ordinal int64) TestResult {
	return TestResult{ProjectSlug: slug, JobNumber: number, Ordinal: ordinal, TestResult: circleci.TestResult{
		Classname: "pkg.Suite", Name: "TestX", File: "x_test.go", Result: "success", RunTime: 0.25, Source: "junit",
	}}
}

func TestJobDetailsRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		d := newJobDetails("gh/o/r", 7, "j1")
		require.Equal(t, WriteStats{Written: 1}, write(t, st, Batch{JobDetails: []circleci.JobDetails{d}}))
		rows := readRows(t, st, jobDetailsTable, "job_number = $1", int64(7))
		require.Len(t, rows, 1)
		requireRow(t, jobDetailsTable, map[string]any{
			"project_slug": "gh/o/r", "job_number": int64(7), "job_id": "j1", "workflow_id": "w2",
			"pipeline_id": "p1", "queued_at": at(1), "started_at": at(3), "duration_ms": int64(120000),
			"executor_type": "docker", "resource_class": "medium", "parallelism": int64(2),
			"contexts": `["aws","npm"]`, "status": "success",
		}, rows[0])
		// The same details again change nothing.
		require.Equal(t, WriteStats{Unchanged: 1}, write(t, st, Batch{JobDetails: []circleci.JobDetails{d}}))
		require.Equal(t, Counts{Entities: map[string]int64{KindJobDetails: 1}}, counts(t, st))

		_, err := st.WriteBatch(t.Context(), Batch{JobDetails: []circleci.JobDetails{newJobDetails("gh/o/r", 8, "")}})
		require.ErrorIs(t, err, ErrInvalidItem)
	})
}

func TestTestResultRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		long := strings.Repeat("é", MaxTestMessageBytes) // 2 bytes each: cut mid-way, on a boundary
		a, b := newTestResult("gh/o/r", 7, 0), newTestResult("gh/o/r", 7, 1)
		b.Result, b.Message = "failure", &long
		ledger := JobTests{ProjectSlug: "gh/o/r", JobNumber: 7, Outcome: TestsFetched, Results: 2, Pages: 1}
		batch := Batch{TestResults: []TestResult{a, b, a}, JobTests: []JobTests{ledger}}
		require.Equal(t, WriteStats{Written: 4}, write(t, st, batch))
		rows := readRows(t, st, testResultsTable, "job_number = $1 ORDER BY ordinal", int64(7))
		require.Len(t, rows, 2)
		requireRow(t, testResultsTable, map[string]any{"ordinal": int64(0), "name": "TestX", "run_time": 0.25,
			"message": nil}, rows[0])
		msg := rows[1]["message"].(string)
		require.Len(t, msg, MaxTestMessageBytes)
		require.True(t, strings.HasPrefix(long, msg))
		requireRow(t, jobTestsTable, map[string]any{"outcome": "fetched", "result_count": int64(2), "pages": int64(1)},
			readRows(t, st, jobTestsTable, "job_number = $1", int64(7))[0])
		require.Equal(t, Counts{Entities: map[string]int64{KindTestResult: 2}}, counts(t, st))
	})
}

func TestCutUTF8(t *testing.T) {
	require.Equal(t, "ab", cutUTF8("ab", 4))
	require.Equal(t, "a", cutUTF8("aé", 2))
	require.Equal(t, "", cutUTF8("é", 1))
}

// TestPendingJobs: terminal build jobs with a number, once each however many
// workflows list them, until their details or tests are stored or skipped; an
// entry skipped for the reason SkipRetry names comes back once last seen before
// its Before, unless first seen before its Since.
func TestPendingJobs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		job := func(id, wf string, n int64, status string) circleci.Job {
			j := newJob(id, wf, "gh/o/r", status, ptr(at(5)))
			j.JobNumber = &n
			return j
		}
		approval := job("a", "w1", 9, circleci.JobStatusSuccess)
		approval.Type, approval.JobNumber = circleci.JobTypeApproval, nil
		write(t, st, Batch{Jobs: []circleci.Job{job("j1", "w1", 1, "success"), job("j1", "w2", 1, "success"),
			job("j2", "w1", 2, "running"), job("j3", "w1", 3, "failed"), job("j4", "w1", 4, "canceled"), approval}})
		pending := func(after int64, limit int, d, tests bool, retry SkipRetry) []PendingJob {
			p, err := st.PendingJobs(t.Context(), "gh/o/r", after, limit, d, tests, retry)
			require.NoError(t, err)
			return p
		}
		none := SkipRetry{}
		require.Equal(t, []PendingJob{{1, "j1", "test", true, true, false}, {3, "j3", "test", true, true, false},
			{4, "j4", "test", true, true, false}}, pending(0, 10, true, true, none))
		require.Equal(t, []PendingJob{{3, "j3", "test", true, false, false}}, pending(1, 1, true, false, none))
		require.Empty(t, pending(0, 10, false, false, none))

		write(t, st, Batch{JobDetails: []circleci.JobDetails{newJobDetails("gh/o/r", 1, "j1")},
			JobTests: []JobTests{{ProjectSlug: "gh/o/r", JobNumber: 3, Outcome: TestsEmpty}},
			Skipped: []Skipped{{EntityRef: EntityRef{Kind: KindJobDetails, ID: JobRef("gh/o/r", 4)}, Reason: "expired"},
				{EntityRef: EntityRef{Kind: KindJobTests, ID: JobRef("gh/o/r", 1)}, Reason: "server_error"}}})
		require.Equal(t, []PendingJob{{3, "j3", "test", true, false, false}, {4, "j4", "test", false, true, true}},
			pending(0, 10, true, true, none))
		require.Equal(t, []PendingJob{{3, "j3", "test", true, false, false}}, pending(0, 10, true, false, none))

		now := time.Now()
		due := SkipRetry{Reason: "server_error", Before: now.Add(time.Minute), Since: now.Add(-time.Hour)}
		require.Equal(t, []PendingJob{{1, "j1", "test", false, true, true}, {3, "j3", "test", true, false, false},
			{4, "j4", "test", false, true, true}}, pending(0, 10, true, true, due), "the server error's entry comes back")
		notYet := due
		notYet.Before = now.Add(-time.Hour)
		require.Len(t, pending(0, 10, true, true, notYet), 2, "last seen too recently")
		givenUp := due
		givenUp.Since = now.Add(time.Minute)
		require.Len(t, pending(0, 10, true, true, givenUp), 2, "first seen too long ago")
	})
}

package store

import (
	"fmt"
	"time"
)

// Outcomes of a job's test fetch (JobTests.Outcome).
const (
	// TestsFetched: CircleCI answered results.
	TestsFetched = "fetched"
	// TestsEmpty: CircleCI answered none, for a job without test data or with more
	// than 250 MB of it (CircleCI tells the two apart for no one).
	TestsEmpty = "empty"
)

// JobTests is the tests ledger's entry for a job whose test results were all read:
// its presence means they are never fetched again.
type JobTests struct {
	ProjectSlug string
	JobNumber   int64
	Outcome     string
	Results     int64
	Pages       int64
}

// jobTestsTable is the tests ledger, a row per job.
var jobTestsTable = &table{
	name: "circleci_job_tests",
	cols: []column{
		{"project_slug", colText}, {"job_number", colInt},
		{"outcome", colText}, {"result_count", colInt}, {"pages", colInt},
		{"fetched_at", colTime},
	},
	keyLen: 2,
	stamp:  "fetched_at",
}

// jobTestsRow is the circleci_job_tests row of t.
func jobTestsRow(t JobTests, now time.Time) ([]any, error) {
	if t.ProjectSlug == "" || t.JobNumber <= 0 || t.Outcome == "" {
		return nil, fmt.Errorf("job tests (slug %q, job %d, outcome %q): empty slug, outcome or bad number",
			t.ProjectSlug, t.JobNumber, t.Outcome)
	}
	return []any{t.ProjectSlug, t.JobNumber, t.Outcome, t.Results, t.Pages, now}, nil
}

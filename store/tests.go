package store

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// MaxTestMessageBytes is the size a test result's message is cut to (at a UTF-8
// boundary): a failure message can be megabytes of output.
const MaxTestMessageBytes = 4096

// TestResult is one test result of a job, at its position (Ordinal, from 0) in
// CircleCI's answer: the key, so that a test reported twice keeps both rows.
type TestResult struct {
	ProjectSlug string
	JobNumber   int64
	Ordinal     int64
	circleci.TestResult
}

// testResultsTable has a row per test result of a job whose tests were fetched.
var testResultsTable = &table{
	name: "circleci_test_results",
	cols: []column{
		{"project_slug", colText}, {"job_number", colInt}, {"ordinal", colInt},
		{"classname", colText}, {"name", colText}, {"file", colText}, {"result", colText},
		{"run_time", colFloat}, {"source", colText}, {"message", colText},
		{"fetched_at", colTime},
	},
	keyLen: 3,
	stamp:  "fetched_at",
}

var testResultKind = optIn(kindOf(KindTestResult, "test_results", testResultsTable, "TestResults",
	func(b Batch) []TestResult { return b.TestResults }, testResultRow))

// testResultRow is the circleci_test_results row of r, its message cut.
func testResultRow(r TestResult, now time.Time) ([]any, error) {
	if r.ProjectSlug == "" || r.JobNumber <= 0 || r.Ordinal < 0 {
		return nil, fmt.Errorf("test result (slug %q, job %d, ordinal %d): empty slug, bad number or ordinal",
			r.ProjectSlug, r.JobNumber, r.Ordinal)
	}
	var msg any
	if r.Message != nil {
		msg = cutUTF8(*r.Message, MaxTestMessageBytes)
	}
	return []any{
		r.ProjectSlug, r.JobNumber, r.Ordinal,
		r.Classname, r.Name, r.File, r.Result,
		r.RunTime, r.Source, msg,
		now,
	}, nil
}

// cutUTF8 returns s cut to at most n bytes, not splitting a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

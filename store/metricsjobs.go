package store

import (
	"context"
	"fmt"
	"time"
)

// QueueSummary is the queue time (queued to started, job details) of a project's
// build jobs on one resource class over a window, as circleci_job_queue_daily
// defines it per day (docs/metrics.md).
type QueueSummary struct {
	ProjectSlug, ResourceClass string
	Jobs                       int64
	// P50, P95 and Max are milliseconds (nearest rank).
	P50, P95, Max int64
}

// queueSummaryQuery ranks the queue times of the jobs queued in [$1, $2].
const queueSummaryQuery = `WITH ranked AS (
	SELECT project_slug, COALESCE(resource_class, '') AS resource_class, queue_ms,
		row_number() OVER (PARTITION BY project_slug, COALESCE(resource_class, '') ORDER BY queue_ms) AS rn,
		count(*) OVER (PARTITION BY project_slug, COALESCE(resource_class, '')) AS n
	FROM circleci_job_queue WHERE queued_at >= $1 AND queued_at <= $2
)
SELECT project_slug, resource_class, count(*),
	min(CASE WHEN 100 * rn >= 50 * n THEN queue_ms END),
	min(CASE WHEN 100 * rn >= 95 * n THEN queue_ms END), max(queue_ms)
FROM ranked GROUP BY project_slug, resource_class
ORDER BY project_slug, resource_class`

// QueueSummaries sums up the queue times of the jobs queued in the filter's window
// (AllBranches is ignored), by project and resource class (bytewise).
func (q *queries) QueueSummaries(ctx context.Context, f WindowFilter) ([]QueueSummary, error) {
	rows, err := q.db.query(ctx, queueSummaryQuery, sinceArg(f.From), timeArg(f.To))
	if err != nil {
		return nil, fmt.Errorf("store: queue summaries: %w", err)
	}
	defer rows.Close()
	var out []QueueSummary
	for rows.Next() {
		var s QueueSummary
		if err := rows.Scan(&s.ProjectSlug, &s.ResourceClass, &s.Jobs, &s.P50, &s.P95, &s.Max); err != nil {
			return nil, fmt.Errorf("store: queue summaries: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: queue summaries: %w", err)
	}
	return out, nil
}

// FlakyTest is a row of circleci_flaky_tests: a test with a flake in the last 14 days.
type FlakyTest struct {
	ProjectSlug, JobName, Classname, Name, File string
	TimesFlaked, Failures                       int64
	LastFlakedAt                                time.Time // UTC
}

// FlakyTests lists circleci_flaky_tests, most flaked first, then latest.
func (q *queries) FlakyTests(ctx context.Context) ([]FlakyTest, error) {
	rows, err := q.db.query(ctx, `SELECT project_slug, job_name, classname, name, file, times_flaked, failures,
		last_flaked_at FROM circleci_flaky_tests
		ORDER BY project_slug, times_flaked DESC, last_flaked_at DESC, classname, name`)
	if err != nil {
		return nil, fmt.Errorf("store: flaky tests: %w", err)
	}
	defer rows.Close()
	var out []FlakyTest
	for rows.Next() {
		var f FlakyTest
		var last scanTime
		if err := rows.Scan(&f.ProjectSlug, &f.JobName, &f.Classname, &f.Name, &f.File, &f.TimesFlaked,
			&f.Failures, &last); err != nil {
			return nil, fmt.Errorf("store: flaky tests: %w", err)
		}
		f.LastFlakedAt = last.t
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: flaky tests: %w", err)
	}
	return out, nil
}

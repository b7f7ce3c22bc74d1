package store

import (
	"context"
	"fmt"
	"time"
)

// WindowFilter selects the runs WorkflowSummaries sums up: created in [From, To],
// grouped by workflow name and branch, or by name alone with AllBranches.
type WindowFilter struct {
	From, To    time.Time
	AllBranches bool
}

// WorkflowSummary is Insights' metrics of one workflow name of a project (and branch)
// over a window, as circleci_workflow_daily defines them per day (docs/metrics.md).
type WorkflowSummary struct {
	ProjectSlug  string
	WorkflowName string
	// Branch is the pipelines' branch ("" for tags); "" with AllBranches.
	Branch                      string
	Runs, Successful, Failed    int64
	Canceled                    int64
	SuccessRate                 float64
	Throughput                  float64 // runs per day of the window
	DurationMin, DurationMean   *int64  // seconds; nil without a completed run
	DurationMedian, DurationP95 *int64
	DurationMax                 *int64
	Recoveries                  int64
	MTTR                        *int64 // seconds; nil without a recovery
}

// windowSummaryQuery sums up the runs of a window in one pass. Recoveries count only
// runs of the window, as Insights does; the grouping branch is %[1]s.
const windowSummaryQuery = `WITH runs AS (
	SELECT project_slug, workflow_name, %[1]s AS branch, id, status, created_at, stopped_us, duration_secs
	FROM circleci_workflow_runs WHERE created_at >= $1 AND created_at <= $2
), ranked AS (
	SELECT project_slug, workflow_name, branch, status, duration_secs,
		row_number() OVER (PARTITION BY project_slug, workflow_name, branch, duration_secs IS NULL
			ORDER BY duration_secs) AS rn,
		count(duration_secs) OVER (PARTITION BY project_slug, workflow_name, branch) AS n
	FROM runs
), totals AS (
	SELECT project_slug, workflow_name, branch, count(*) AS runs,
		sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS successful,
		sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed,
		sum(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled,
		min(duration_secs) AS dmin, CAST(round(avg(duration_secs)) AS BIGINT) AS dmean,
		min(CASE WHEN 100 * rn >= 50 * n THEN duration_secs END) AS dmedian,
		min(CASE WHEN 100 * rn >= 95 * n THEN duration_secs END) AS dp95,
		max(duration_secs) AS dmax
	FROM ranked GROUP BY project_slug, workflow_name, branch
), decided AS (
	SELECT project_slug, workflow_name, branch, id, status, created_at, stopped_us,
		sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) OVER (
			PARTITION BY project_slug, workflow_name, branch ORDER BY created_at, id
			ROWS UNBOUNDED PRECEDING) - CASE WHEN status = 'success' THEN 1 ELSE 0 END AS streak
	FROM runs WHERE status IN ('success', 'failed') AND stopped_us IS NOT NULL
), streaks AS (
	SELECT d.*, first_value(status) OVER s AS first_status, first_value(stopped_us) OVER s AS first_stopped_us
	FROM decided d
	WINDOW s AS (PARTITION BY project_slug, workflow_name, branch, streak ORDER BY created_at, id)
), recovered AS (
	SELECT project_slug, workflow_name, branch, count(*) AS recoveries,
		CAST(sum((stopped_us - first_stopped_us) / 1000000) AS BIGINT) / count(*) AS mttr
	FROM streaks WHERE status = 'success' AND first_status = 'failed'
	GROUP BY project_slug, workflow_name, branch
)
SELECT t.project_slug, t.workflow_name, t.branch, t.runs, t.successful, t.failed, t.canceled,
	t.dmin, t.dmean, t.dmedian, t.dp95, t.dmax, COALESCE(r.recoveries, 0), r.mttr
FROM totals t LEFT JOIN recovered r ON r.project_slug = t.project_slug
	AND r.workflow_name = t.workflow_name AND r.branch = t.branch
ORDER BY t.project_slug, t.workflow_name, t.branch`

// WorkflowSummaries sums up the runs created in the filter's window, by project,
// workflow name and branch (bytewise).
func (q *queries) WorkflowSummaries(ctx context.Context, f WindowFilter) ([]WorkflowSummary, error) {
	branch := "branch"
	if f.AllBranches {
		branch = "''"
	}
	rows, err := q.db.query(ctx, fmt.Sprintf(windowSummaryQuery, branch), sinceArg(f.From), timeArg(f.To))
	if err != nil {
		return nil, fmt.Errorf("store: workflow summaries: %w", err)
	}
	defer rows.Close()
	days := f.To.Sub(f.From).Hours() / 24
	var out []WorkflowSummary
	for rows.Next() {
		var s WorkflowSummary
		if err := rows.Scan(&s.ProjectSlug, &s.WorkflowName, &s.Branch, &s.Runs, &s.Successful, &s.Failed,
			&s.Canceled, &s.DurationMin, &s.DurationMean, &s.DurationMedian, &s.DurationP95, &s.DurationMax,
			&s.Recoveries, &s.MTTR); err != nil {
			return nil, fmt.Errorf("store: workflow summaries: %w", err)
		}
		if decided := s.Runs - s.Canceled; decided > 0 {
			s.SuccessRate = float64(s.Successful) / float64(decided)
		}
		if days > 0 {
			s.Throughput = float64(s.Runs) / days
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: workflow summaries: %w", err)
	}
	return out, nil
}

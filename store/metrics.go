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
	// Pipelines that ran the name in the window (by their first attempt), those with
	// a rerun, those with a rerun after a first attempt that did not succeed, and
	// those of them whose last attempt succeeded (circleci_workflow_reruns_daily).
	Pipelines, RerunPipelines, RerunsAfterFailure, SuccessesAfterRerun int64
}

// windowSummaryQuery sums up the runs of a window in one pass. Recoveries count only
// runs of the window, as Insights does; the grouping branch is %[1]s.
const windowSummaryQuery = `WITH runs AS (
	SELECT project_slug, workflow_name, %[1]s AS branch, id, pipeline_id, status, created_at, stopped_us,
		duration_secs
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
), attempts AS (
	SELECT project_slug, workflow_name, branch, status, row_number() OVER w AS attempt,
		count(*) OVER (PARTITION BY pipeline_id, workflow_name) AS attempts,
		last_value(status) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_status
	FROM runs
	WINDOW w AS (PARTITION BY pipeline_id, workflow_name ORDER BY created_at, id)
), reruns AS (
	SELECT project_slug, workflow_name, branch, count(*) AS pipelines,
		sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) AS rerun,
		sum(CASE WHEN attempts > 1 AND status <> 'success' THEN 1 ELSE 0 END) AS after_failure,
		sum(CASE WHEN attempts > 1 AND status <> 'success' AND last_status = 'success' THEN 1 ELSE 0 END) AS saved
	FROM attempts WHERE attempt = 1
	GROUP BY project_slug, workflow_name, branch
)
SELECT t.project_slug, t.workflow_name, t.branch, t.runs, t.successful, t.failed, t.canceled,
	t.dmin, t.dmean, t.dmedian, t.dp95, t.dmax, COALESCE(r.recoveries, 0), r.mttr,
	COALESCE(a.pipelines, 0), COALESCE(a.rerun, 0), COALESCE(a.after_failure, 0), COALESCE(a.saved, 0)
FROM totals t LEFT JOIN recovered r ON r.project_slug = t.project_slug
	AND r.workflow_name = t.workflow_name AND r.branch = t.branch
LEFT JOIN reruns a ON a.project_slug = t.project_slug AND a.workflow_name = t.workflow_name AND a.branch = t.branch
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
			&s.Recoveries, &s.MTTR, &s.Pipelines, &s.RerunPipelines, &s.RerunsAfterFailure,
			&s.SuccessesAfterRerun); err != nil {
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

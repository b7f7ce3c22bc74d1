-- Metric views (issue 15): CircleCI Insights' workflow metrics, computed from the
-- stored runs so that they reconcile with the Insights UI, job queue times and flaky
-- tests; docs/metrics.md defines each with an example query. Views only: no data
-- changes. Every view but circleci_workflow_runs, circleci_job_queue (dates) and
-- circleci_flaky_tests (now) has the same text in both dialects (TestMetricViewsShared).
--
-- circleci_workflow_runs: one row per workflow run with what the metrics need: the
-- pipeline's branch ('' for tags, as Insights), day (the UTC date of created_at, a date),
-- duration_secs (stopped_at - created_at in whole seconds, truncated, for completed
-- runs: success, failed, error, canceled, unauthorized; NULL otherwise) and
-- created_us/stopped_us (microseconds since 1970, for exact differences).
CREATE VIEW circleci_workflow_runs AS
SELECT w.id, w.project_slug, w.name AS workflow_name, COALESCE(p.vcs_branch, '') AS branch,
    w.pipeline_id, w.pipeline_number, p.vcs_revision AS revision, w.status, w.created_at, w.stopped_at,
    CAST(w.created_at AT TIME ZONE 'UTC' AS DATE) AS day,
    CASE WHEN w.status IN ('success', 'failed', 'error', 'canceled', 'unauthorized')
        THEN (w.stopped_us - w.created_us) / 1000000 END AS duration_secs,
    w.created_us, w.stopped_us
FROM (SELECT id, project_slug, name, pipeline_id, pipeline_number, status, created_at, stopped_at,
        CAST(round(EXTRACT(EPOCH FROM created_at) * 1000000) AS BIGINT) AS created_us,
        CAST(round(EXTRACT(EPOCH FROM stopped_at) * 1000000) AS BIGINT) AS stopped_us
    FROM circleci_workflows) w
LEFT JOIN circleci_pipelines p ON p.id = w.pipeline_id;

-- circleci_workflow_recoveries: one row per recovery, per project, workflow name and
-- branch: a success that follows a failure; day is the success's. Among the runs that failed or succeeded
-- and stopped (by created_at, then id), a streak is the runs after a success up to
-- and including the next success; it is a recovery when it starts with a failure.
-- recovery_secs runs from that first failure's stopped_at to the success's, in whole
-- seconds (truncated): Insights' "time between failures and their next success".
CREATE VIEW circleci_workflow_recoveries AS
WITH decided AS (
    SELECT id, project_slug, workflow_name, branch, day, status, created_at, stopped_at, stopped_us,
        sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) OVER (
            PARTITION BY project_slug, workflow_name, branch ORDER BY created_at, id
            ROWS UNBOUNDED PRECEDING) - CASE WHEN status = 'success' THEN 1 ELSE 0 END AS streak
    FROM circleci_workflow_runs
    WHERE status IN ('success', 'failed') AND stopped_at IS NOT NULL
), streaks AS (
    SELECT d.*,
        first_value(status) OVER s AS first_status,
        first_value(id) OVER s AS first_id,
        first_value(stopped_at) OVER s AS first_stopped_at,
        first_value(stopped_us) OVER s AS first_stopped_us
    FROM decided d
    WINDOW s AS (PARTITION BY project_slug, workflow_name, branch, streak ORDER BY created_at, id)
)
SELECT project_slug, workflow_name, branch, day, first_id AS failed_id, first_stopped_at AS failed_at,
    id AS recovered_id, created_at AS recovered_created_at, stopped_at AS recovered_at,
    (stopped_us - first_stopped_us) / 1000000 AS recovery_secs
FROM streaks
WHERE status = 'success' AND first_status = 'failed';

-- circleci_workflow_daily: per project, workflow name, branch and day (of created_at,
-- UTC), Insights' workflow metrics. runs counts every run (running and on_hold too);
-- success_rate is successful / (runs - canceled), 0 without any; throughput is runs per
-- day; durations are of completed runs (duration_secs not null), median and p95 by
-- nearest rank: the value at rank ceil(q * n) of the n durations in ascending order;
-- the mean is rounded to whole seconds. mttr_secs is the mean recovery_secs (truncated)
-- of the recoveries whose success was created that day, and recoveries their number.
CREATE VIEW circleci_workflow_daily AS
WITH ranked AS (
    SELECT project_slug, workflow_name, branch, day, status, duration_secs,
        row_number() OVER (PARTITION BY project_slug, workflow_name, branch, day, duration_secs IS NULL
            ORDER BY duration_secs) AS rn,
        count(duration_secs) OVER (PARTITION BY project_slug, workflow_name, branch, day) AS n
    FROM circleci_workflow_runs
), days AS (
    SELECT project_slug, workflow_name, branch, day,
        count(*) AS runs,
        sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS successful_runs,
        sum(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS failed_runs,
        sum(CASE WHEN status = 'canceled' THEN 1 ELSE 0 END) AS canceled_runs,
        min(duration_secs) AS duration_min_secs,
        CAST(round(avg(duration_secs)) AS BIGINT) AS duration_mean_secs,
        min(CASE WHEN 100 * rn >= 50 * n THEN duration_secs END) AS duration_median_secs,
        min(CASE WHEN 100 * rn >= 95 * n THEN duration_secs END) AS duration_p95_secs,
        max(duration_secs) AS duration_max_secs
    FROM ranked
    GROUP BY project_slug, workflow_name, branch, day
), recovered AS (
    SELECT project_slug, workflow_name, branch, day,
        count(*) AS recoveries, CAST(sum(recovery_secs) AS BIGINT) / count(*) AS mttr_secs
    FROM circleci_workflow_recoveries
    GROUP BY project_slug, workflow_name, branch, day
)
SELECT d.project_slug, d.workflow_name, d.branch, d.day, d.runs, d.successful_runs, d.failed_runs,
    d.canceled_runs,
    CASE WHEN d.runs > d.canceled_runs
        THEN CAST(d.successful_runs AS DOUBLE PRECISION) / (d.runs - d.canceled_runs) ELSE 0.0 END AS success_rate,
    d.runs AS throughput,
    d.duration_min_secs, d.duration_mean_secs, d.duration_median_secs, d.duration_p95_secs,
    d.duration_max_secs, COALESCE(r.recoveries, 0) AS recoveries, r.mttr_secs
FROM days d LEFT JOIN recovered r ON r.project_slug = d.project_slug
    AND r.workflow_name = d.workflow_name AND r.branch = d.branch AND r.day = d.day;

-- circleci_workflow_reruns_daily: per project, workflow name, branch and day (of the
-- first attempt's created_at), how often a pipeline's workflow was run again. An
-- attempt is one run of a name in a pipeline, by created_at then id: a rerun (from
-- failed, or all jobs) is a later attempt. rerun_rate is the share of pipelines with
-- more than one attempt; success_after_rerun the share, among those whose first
-- attempt did not succeed, whose last attempt succeeded (NULL without any).
CREATE VIEW circleci_workflow_reruns_daily AS
WITH attempts AS (
    SELECT project_slug, workflow_name, branch, pipeline_id, day, status,
        row_number() OVER w AS attempt,
        count(*) OVER (PARTITION BY pipeline_id, workflow_name) AS attempts,
        last_value(status) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_status
    FROM circleci_workflow_runs
    WINDOW w AS (PARTITION BY pipeline_id, workflow_name ORDER BY created_at, id)
), firsts AS (
    SELECT project_slug, workflow_name, branch, day,
        count(*) AS pipelines,
        sum(CASE WHEN attempts > 1 THEN 1 ELSE 0 END) AS rerun_pipelines,
        sum(CASE WHEN attempts > 1 AND status <> 'success' THEN 1 ELSE 0 END) AS reruns_after_failure,
        sum(CASE WHEN attempts > 1 AND status <> 'success' AND last_status = 'success' THEN 1 ELSE 0 END)
            AS successes_after_rerun
    FROM attempts
    WHERE attempt = 1
    GROUP BY project_slug, workflow_name, branch, day
)
SELECT project_slug, workflow_name, branch, day, pipelines, rerun_pipelines,
    CAST(rerun_pipelines AS DOUBLE PRECISION) / pipelines AS rerun_rate,
    reruns_after_failure, successes_after_rerun,
    CASE WHEN reruns_after_failure > 0
        THEN CAST(successes_after_rerun AS DOUBLE PRECISION) / reruns_after_failure END AS success_after_rerun
FROM firsts;

-- circleci_job_queue: one row per build job whose details have queued_at and
-- started_at: its resource class, day (of queued_at, UTC, as circleci_workflow_runs'
-- day) and queue_ms, started_at - queued_at in whole milliseconds (truncated).
CREATE VIEW circleci_job_queue AS
SELECT project_slug, job_number, name AS job_name, resource_class, executor_type, status,
    CAST(queued_at AT TIME ZONE 'UTC' AS DATE) AS day, queued_at, started_at, (started_us - queued_us) / 1000 AS queue_ms
FROM (SELECT project_slug, job_number, name, resource_class, executor_type, status, queued_at, started_at,
        CAST(round(EXTRACT(EPOCH FROM queued_at) * 1000000) AS BIGINT) AS queued_us,
        CAST(round(EXTRACT(EPOCH FROM started_at) * 1000000) AS BIGINT) AS started_us
    FROM circleci_job_details
    WHERE queued_at IS NOT NULL AND started_at IS NOT NULL) d;

-- circleci_job_queue_daily: per project, resource class and day (of queued_at, UTC),
-- how long build jobs waited from queued to started (job details): jobs, and the
-- queue time's p50, p95 (nearest rank, as for workflows), max and mean (rounded),
-- in milliseconds.
CREATE VIEW circleci_job_queue_daily AS
WITH ranked AS (
    SELECT project_slug, resource_class, day, queue_ms,
        row_number() OVER (PARTITION BY project_slug, resource_class, day ORDER BY queue_ms) AS rn,
        count(*) OVER (PARTITION BY project_slug, resource_class, day) AS n
    FROM circleci_job_queue
)
SELECT project_slug, resource_class, day, count(*) AS jobs,
    min(CASE WHEN 100 * rn >= 50 * n THEN queue_ms END) AS queue_p50_ms,
    min(CASE WHEN 100 * rn >= 95 * n THEN queue_ms END) AS queue_p95_ms,
    max(queue_ms) AS queue_max_ms,
    CAST(round(avg(queue_ms)) AS BIGINT) AS queue_mean_ms
FROM ranked
GROUP BY project_slug, resource_class, day;

-- circleci_test_flakes: one row per test (job name, classname, name, file) and commit
-- (the pipeline's vcs_revision) on which the test both passed (result 'success') and
-- failed ('failure' or 'error'): CircleCI's "passed and failed in the same commit".
-- flaked_at is the latest stopped_at of the jobs that ran it on that commit.
CREATE VIEW circleci_test_flakes AS
WITH jobs AS (
    SELECT DISTINCT j.project_slug, j.job_number, j.name AS job_name, p.vcs_revision AS revision, j.stopped_at
    FROM circleci_jobs j
    JOIN circleci_workflows w ON w.id = j.workflow_id
    JOIN circleci_pipelines p ON p.id = w.pipeline_id
    WHERE j.job_number IS NOT NULL AND p.vcs_revision IS NOT NULL
)
SELECT t.project_slug, j.job_name, t.classname, t.name, t.file, j.revision,
    sum(CASE WHEN t.result = 'success' THEN 1 ELSE 0 END) AS passes,
    sum(CASE WHEN t.result IN ('failure', 'error') THEN 1 ELSE 0 END) AS failures,
    max(j.stopped_at) AS flaked_at
FROM circleci_test_results t
JOIN jobs j ON j.project_slug = t.project_slug AND j.job_number = t.job_number
GROUP BY t.project_slug, j.job_name, t.classname, t.name, t.file, j.revision
HAVING sum(CASE WHEN t.result = 'success' THEN 1 ELSE 0 END) > 0
    AND sum(CASE WHEN t.result IN ('failure', 'error') THEN 1 ELSE 0 END) > 0;

-- circleci_flaky_tests: the tests with a flake (circleci_test_flakes) in the last 14
-- days, CircleCI's "no longer flaky after 2 weeks without a flake": times_flaked is
-- the commits it flaked on in those days, failures its failed results there, and
-- last_flaked_at the latest flake.
CREATE VIEW circleci_flaky_tests AS
SELECT project_slug, job_name, classname, name, file, count(*) AS times_flaked,
    sum(failures) AS failures, max(flaked_at) AS last_flaked_at
FROM circleci_test_flakes
WHERE flaked_at >= now() - interval '14 days'
GROUP BY project_slug, job_name, classname, name, file;

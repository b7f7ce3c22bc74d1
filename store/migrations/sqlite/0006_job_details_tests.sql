-- Job details and test results (issue 15), fetched only for connections whose input
-- names them in include. Each is fetched once per terminal job and never again.
--
-- circleci_job_details: GET /project/{slug}/job/{number}, one row per build job.
-- workflow_id is the details' latest_workflow (the newest workflow the job was part
-- of); job_id is the id circleci_jobs lists the job under. duration_ms is CircleCI's
-- duration (milliseconds); queue time is started_at - queued_at.
CREATE TABLE circleci_job_details (
    project_slug   TEXT NOT NULL,
    job_number     INTEGER NOT NULL,
    job_id         TEXT NOT NULL,
    workflow_id    TEXT,
    pipeline_id    TEXT,
    name           TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT,
    queued_at      TEXT,
    started_at     TEXT,
    stopped_at     TEXT,
    duration_ms    INTEGER,
    executor_type  TEXT,
    resource_class TEXT,
    parallelism    INTEGER,
    contexts       TEXT NOT NULL DEFAULT '[]',
    web_url        TEXT,
    raw            TEXT,
    fetched_at     TEXT NOT NULL,
    PRIMARY KEY (project_slug, job_number)
) STRICT;
CREATE INDEX circleci_job_details_job_idx ON circleci_job_details (job_id);

-- circleci_test_results: GET /project/{slug}/{number}/tests, a row per result, keyed
-- by its position (ordinal, from 0) in CircleCI's answer, so a test reported twice
-- keeps both rows. run_time is in seconds; message is cut to 4096 bytes.
CREATE TABLE circleci_test_results (
    project_slug TEXT NOT NULL,
    job_number   INTEGER NOT NULL,
    ordinal      INTEGER NOT NULL,
    classname    TEXT NOT NULL,
    name         TEXT NOT NULL,
    file         TEXT NOT NULL,
    result       TEXT NOT NULL,
    run_time     REAL,
    source       TEXT NOT NULL,
    message      TEXT,
    fetched_at   TEXT NOT NULL,
    PRIMARY KEY (project_slug, job_number, ordinal)
) STRICT;

-- circleci_job_tests: the tests ledger, a row per job whose tests were all read.
-- outcome is 'fetched' (results came) or 'empty' (CircleCI returned none: a job
-- without test data, or one with more than 250 MB of it, which CircleCI answers
-- with nothing); result_count and pages are what the fetch read.
CREATE TABLE circleci_job_tests (
    project_slug TEXT NOT NULL,
    job_number   INTEGER NOT NULL,
    outcome      TEXT NOT NULL,
    result_count INTEGER NOT NULL,
    pages        INTEGER NOT NULL,
    fetched_at   TEXT NOT NULL,
    PRIMARY KEY (project_slug, job_number)
) STRICT;

-- The sync looks for a project's terminal build jobs by number.
CREATE INDEX circleci_jobs_project_number_idx ON circleci_jobs (project_slug, job_number)
    WHERE job_number IS NOT NULL;

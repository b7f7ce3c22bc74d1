-- circleci_jobs holds one row per (workflow_id, id): a rerun from failed lists the
-- original's successful jobs, same id, under the new workflow, and each workflow keeps
-- them. SQLite cannot change a primary key in place, so the table is rebuilt with the
-- same columns in the same order; every row is kept (ids were unique, so the pairs are).
CREATE TABLE circleci_jobs_new (
    id                  TEXT NOT NULL,
    workflow_id         TEXT NOT NULL,
    project_slug        TEXT NOT NULL,
    job_number          INTEGER,
    name                TEXT NOT NULL,
    type                TEXT NOT NULL,
    status              TEXT NOT NULL,
    started_at          TEXT,
    stopped_at          TEXT,
    approved_by         TEXT,
    canceled_by         TEXT,
    approval_request_id TEXT,
    dependencies        TEXT NOT NULL DEFAULT '[]',
    requires            TEXT,
    raw                 TEXT,
    synced_at           TEXT NOT NULL,
    PRIMARY KEY (workflow_id, id)
) STRICT;
INSERT INTO circleci_jobs_new (id, workflow_id, project_slug, job_number, name, type, status,
    started_at, stopped_at, approved_by, canceled_by, approval_request_id, dependencies,
    requires, raw, synced_at)
SELECT id, workflow_id, project_slug, job_number, name, type, status,
    started_at, stopped_at, approved_by, canceled_by, approval_request_id, dependencies,
    requires, raw, synced_at
FROM circleci_jobs;
DROP TABLE circleci_jobs;
ALTER TABLE circleci_jobs_new RENAME TO circleci_jobs;
-- The primary key leads with workflow_id, so it replaces circleci_jobs_workflow_idx.
CREATE INDEX circleci_jobs_id_idx ON circleci_jobs (id);
CREATE INDEX circleci_jobs_open_idx ON circleci_jobs (workflow_id)
    WHERE status NOT IN ('success', 'not_run', 'failed', 'retried', 'infrastructure_fail', 'timedout', 'terminated-unknown', 'canceled', 'unauthorized');
CREATE INDEX circleci_jobs_approved_by_idx ON circleci_jobs (project_slug) WHERE approved_by IS NOT NULL;
CREATE INDEX circleci_jobs_canceled_by_idx ON circleci_jobs (project_slug) WHERE canceled_by IS NOT NULL;

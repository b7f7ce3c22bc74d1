-- circleci-sync schema, version 1 (SQLite).
--
-- Table and column names are a public interface: dashboards and ad-hoc queries read
-- them. Enums (states, statuses, types) are TEXT, so a value CircleCI adds later is
-- stored as it came. raw holds each item exactly as CircleCI sent it; raw and the
-- other JSON columns are TEXT. Timestamps are TEXT in UTC, fixed width so that they
-- sort and compare lexically in time order, 2006-01-02T15:04:05.000000Z (microseconds,
-- as in PostgreSQL); NULL means CircleCI did not send the time. Tables are STRICT.
--
-- The partial indexes on open (not terminal) items spell their predicates exactly as
-- the store's queries do (store/statuses.go); TestMigrationPredicatesMatchGo checks it.

CREATE TABLE circleci_projects (
    slug              TEXT PRIMARY KEY,
    id                TEXT NOT NULL,
    name              TEXT NOT NULL,
    organization_name TEXT NOT NULL,
    organization_slug TEXT NOT NULL,
    organization_id   TEXT NOT NULL,
    vcs_url           TEXT NOT NULL,
    vcs_provider      TEXT NOT NULL,
    default_branch    TEXT NOT NULL,
    raw               TEXT,
    synced_at         TEXT NOT NULL
) STRICT;

CREATE TABLE circleci_pipelines (
    id                  TEXT PRIMARY KEY,
    project_slug        TEXT NOT NULL,
    number              INTEGER NOT NULL,
    state               TEXT NOT NULL,
    created_at          TEXT,
    updated_at          TEXT,
    trigger_type        TEXT NOT NULL,
    trigger_received_at TEXT,
    trigger_actor_login TEXT NOT NULL,
    vcs_branch          TEXT,
    vcs_tag             TEXT,
    vcs_revision        TEXT,
    vcs_provider        TEXT,
    vcs_commit_subject  TEXT,
    errors              TEXT NOT NULL DEFAULT '[]',
    raw                 TEXT,
    synced_at           TEXT NOT NULL
) STRICT;
CREATE INDEX circleci_pipelines_project_created_idx ON circleci_pipelines (project_slug, created_at);
CREATE INDEX circleci_pipelines_open_idx ON circleci_pipelines (project_slug)
    WHERE state NOT IN ('created', 'errored');

CREATE TABLE circleci_workflows (
    id                TEXT PRIMARY KEY,
    pipeline_id       TEXT NOT NULL,
    pipeline_number   INTEGER NOT NULL,
    project_slug      TEXT NOT NULL,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL,
    tag               TEXT,
    created_at        TEXT,
    stopped_at        TEXT,
    started_by        TEXT,
    canceled_by       TEXT,
    errored_by        TEXT,
    auto_rerun_number INTEGER,
    max_auto_reruns   INTEGER,
    raw               TEXT,
    synced_at         TEXT NOT NULL
) STRICT;
CREATE INDEX circleci_workflows_pipeline_idx ON circleci_workflows (pipeline_id);
CREATE INDEX circleci_workflows_project_created_idx ON circleci_workflows (project_slug, created_at);
CREATE INDEX circleci_workflows_open_idx ON circleci_workflows (project_slug)
    WHERE status NOT IN ('success', 'not_run', 'failed', 'error', 'canceled', 'unauthorized');

CREATE TABLE circleci_jobs (
    id                  TEXT PRIMARY KEY,
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
    synced_at           TEXT NOT NULL
) STRICT;
CREATE INDEX circleci_jobs_workflow_idx ON circleci_jobs (workflow_id);
CREATE INDEX circleci_jobs_open_idx ON circleci_jobs (workflow_id)
    WHERE status NOT IN ('success', 'not_run', 'failed', 'retried', 'infrastructure_fail', 'timedout', 'terminated-unknown', 'canceled', 'unauthorized');
CREATE INDEX circleci_jobs_approved_by_idx ON circleci_jobs (project_slug) WHERE approved_by IS NOT NULL;
CREATE INDEX circleci_jobs_canceled_by_idx ON circleci_jobs (project_slug) WHERE canceled_by IS NOT NULL;

CREATE TABLE circleci_users (
    id         TEXT PRIMARY KEY,
    login      TEXT NOT NULL,
    name       TEXT NOT NULL,
    avatar_url TEXT,
    raw        TEXT,
    fetched_at TEXT NOT NULL
) STRICT;

CREATE TABLE circleci_sync_connections (
    connection_id TEXT PRIMARY KEY,
    org_slug      TEXT NOT NULL,
    base_url      TEXT NOT NULL,
    projects      TEXT,
    last_run_at   TEXT,
    last_run      TEXT,
    updated_at    TEXT NOT NULL
) STRICT;

CREATE TABLE circleci_sync_projects (
    connection_id TEXT NOT NULL,
    project_slug  TEXT NOT NULL,
    watermark     TEXT,
    last_run_at   TEXT,
    last_run      TEXT,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, project_slug)
) STRICT;

CREATE TABLE circleci_skipped (
    kind         TEXT NOT NULL,
    id           TEXT NOT NULL,
    project_slug TEXT NOT NULL,
    reason       TEXT NOT NULL,
    http_status  INTEGER,
    message      TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    PRIMARY KEY (kind, id)
) STRICT;

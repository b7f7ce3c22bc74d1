-- circleci_jobs holds one row per (workflow_id, id): a rerun from failed lists the
-- original's successful jobs, same id, under the new workflow, and each workflow keeps
-- them. Every row is kept (ids were unique, so the pairs are). The new key's index is
-- built under an ACCESS EXCLUSIVE lock (seconds per million rows).
ALTER TABLE circleci_jobs DROP CONSTRAINT circleci_jobs_pkey,
    ADD CONSTRAINT circleci_jobs_pkey PRIMARY KEY (workflow_id, id);
-- The primary key leads with workflow_id, so it replaces circleci_jobs_workflow_idx.
DROP INDEX IF EXISTS circleci_jobs_workflow_idx;
CREATE INDEX circleci_jobs_id_idx ON circleci_jobs (id);

-- The repair pass's state per project: when the last pass started, and the workflow
-- names Insights listed (a JSON array) with when they were read.
ALTER TABLE circleci_sync_projects ADD COLUMN repaired_at TEXT;
ALTER TABLE circleci_sync_projects ADD COLUMN insights_names TEXT;
ALTER TABLE circleci_sync_projects ADD COLUMN insights_names_at TEXT;

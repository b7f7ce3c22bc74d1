-- When a connection was last verified and its projects last discovered, so that
-- incremental syncs skip what is still fresh (see activities.VerifyConnection and
-- activities.DiscoverProjects).
ALTER TABLE circleci_sync_connections ADD COLUMN verified_at TEXT;
ALTER TABLE circleci_sync_connections ADD COLUMN discovered_at TEXT;
ALTER TABLE circleci_sync_connections ADD COLUMN followed_at TEXT;
ALTER TABLE circleci_sync_connections ADD COLUMN discovery_watermark TEXT;

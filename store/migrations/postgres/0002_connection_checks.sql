-- When a connection was last verified and its projects last discovered, so that
-- incremental syncs skip what is still fresh (see activities.VerifyConnection and
-- activities.DiscoverProjects).
ALTER TABLE circleci_sync_connections
    ADD COLUMN verified_at TIMESTAMPTZ,
    ADD COLUMN discovered_at TIMESTAMPTZ,
    ADD COLUMN followed_at TIMESTAMPTZ,
    ADD COLUMN discovery_watermark TIMESTAMPTZ;

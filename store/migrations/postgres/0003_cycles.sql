-- A ConnectionSync cycle in progress, by workflow ID: its projects, and the
-- connection's record as its discovery left it, which becomes the record only
-- when the cycle completes (activities.FinishCycle).
CREATE TABLE circleci_sync_cycles (
    workflow_id   TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL,
    projects      TEXT NOT NULL,
    staged_state  TEXT
);

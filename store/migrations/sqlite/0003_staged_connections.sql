-- A connection's record as a sync cycle's discovery left it: it becomes the
-- record only when the cycle completes (activities.CompleteCycle), so a cycle
-- that never completes leaves the record as it was.
CREATE TABLE circleci_sync_staged_connections (
    connection_id TEXT PRIMARY KEY,
    state         TEXT NOT NULL
);

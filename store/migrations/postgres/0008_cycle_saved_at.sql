-- When a cycle was saved (its discovery), so that the cycles of runs that failed
-- and never came back can be pruned (Store.PruneCycles); the cycles in progress
-- at this migration count from it.
ALTER TABLE circleci_sync_cycles ADD COLUMN saved_at TIMESTAMPTZ;
UPDATE circleci_sync_cycles SET saved_at = now();

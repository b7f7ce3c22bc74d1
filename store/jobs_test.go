package store

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// TestJobUnderTwoWorkflows: a rerun from failed lists the original's successful job,
// same id, under the new workflow. Each (workflow, job) is its own row with its own
// version guard: neither listing moves or overwrites the other.
func TestJobUnderTwoWorkflows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		orig := newJob("j1", "w1", "gh/o/r", circleci.JobStatusSuccess, ptr(at(5)))
		reused := newJob("j1", "w2", "gh/o/r", circleci.JobStatusSuccess, ptr(at(5)))
		require.Equal(t, WriteStats{Written: 2}, write(t, st, Batch{Jobs: []circleci.Job{orig, reused}}))
		require.Equal(t, Counts{Entities: map[string]int64{KindJob: 2}}, counts(t, st))
		for _, wf := range []string{"w1", "w2"} {
			requireRow(t, jobsTable, map[string]any{"workflow_id": wf, "id": "j1", "status": "success",
				"stopped_at": at(5)}, readRow(t, st, jobsTable, wf, "j1"))
		}

		// An older running snapshot under w2 is refused there, and w1 is untouched.
		stale := newJob("j1", "w2", "gh/o/r", "running", nil)
		require.Equal(t, WriteStats{Unchanged: 1}, write(t, st, Batch{Jobs: []circleci.Job{stale}}))
		requireRow(t, jobsTable, map[string]any{"status": "success", "stopped_at": at(5)},
			readRow(t, st, jobsTable, "w2", "j1"))

		// A later snapshot under w1 replaces w1's row only.
		later := newJob("j1", "w1", "gh/o/r", circleci.JobStatusFailed, ptr(at(7)))
		require.Equal(t, WriteStats{Written: 1}, write(t, st, Batch{Jobs: []circleci.Job{later}}))
		requireRow(t, jobsTable, map[string]any{"status": "failed", "stopped_at": at(7)},
			readRow(t, st, jobsTable, "w1", "j1"))
		requireRow(t, jobsTable, map[string]any{"status": "success", "stopped_at": at(5)},
			readRow(t, st, jobsTable, "w2", "j1"))

		// Both in one batch, with a stale copy of each: two rounds, each row guarded.
		require.Equal(t, WriteStats{Unchanged: 3},
			write(t, st, Batch{Jobs: []circleci.Job{stale, later, newJob("j1", "w1", "gh/o/r", "running", nil)}}))
		require.Equal(t, Counts{Entities: map[string]int64{KindJob: 2}}, counts(t, st))
	})
}

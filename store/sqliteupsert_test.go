package store

import (
	"math/bits"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSQLiteUpsertPreparedShapes: a write of 800 jobs goes through statements of
// power-of-two row counts, prepared once: rewriting the same rows prepares nothing
// new, changes nothing, and every row is written exactly once.
func TestSQLiteUpsertPreparedShapes(t *testing.T) {
	st, _ := openTestSQLite(t)
	s := st.(*sqliteStore)
	b := benchPage(0, "running")
	p1 := benchPage(1, "running")
	b.Pipelines = append(b.Pipelines, p1.Pipelines...)
	b.Workflows = append(b.Workflows, p1.Workflows...)
	b.Jobs = append(b.Jobs, p1.Jobs...)
	require.Len(t, b.Jobs, 800)
	rows := len(b.Pipelines) + len(b.Workflows) + len(b.Jobs)

	stats := write(t, st, b)
	require.Equal(t, rows, stats.Written)
	require.Equal(t, 0, stats.Unchanged)
	c := counts(t, st)
	require.Equal(t, int64(800), c.Entities[KindJob])
	require.Equal(t, int64(80), c.Entities[KindWorkflow])
	require.Equal(t, int64(40), c.Entities[KindPipeline])

	s.stmts.mu.Lock()
	prepared := len(s.stmts.stmts)
	for key := range s.stmts.stmts {
		require.Equal(t, 1, bits.OnesCount(uint(key.rows)), "%s: %d rows is not a power of two", key.table.name, key.rows)
		require.LessOrEqual(t, key.rows*len(key.table.cols), sqliteMaxParams, key.table.name)
		require.LessOrEqual(t, key.rows, sqliteMaxRows, key.table.name)
	}
	s.stmts.mu.Unlock()

	stats = write(t, st, b)
	require.Equal(t, 0, stats.Written)
	require.Equal(t, rows, stats.Unchanged)
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	require.Equal(t, prepared, len(s.stmts.stmts), "the same shapes were prepared again")
}

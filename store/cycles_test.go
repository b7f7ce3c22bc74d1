package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPruneCycles: a connection's cycles saved before the time go, except the
// one kept; other connections' cycles and recent ones stay.
func TestPruneCycles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		now := time.Now()
		old := now.Add(-40 * 24 * time.Hour)
		for _, c := range []Cycle{
			{WorkflowID: "w-stale", ConnectionID: "a", Projects: []string{"gh/a/x"}, SavedAt: old},
			{WorkflowID: "w-recent", ConnectionID: "a", Projects: []string{"gh/a/x"}},
			{WorkflowID: "w-kept", ConnectionID: "a", Projects: []string{"gh/a/x"}, SavedAt: old},
			{WorkflowID: "w-other", ConnectionID: "b", Projects: []string{"gh/b/x"}, SavedAt: old},
		} {
			require.NoError(t, st.SaveCycle(t.Context(), c))
		}
		require.NoError(t, st.PruneCycles(t.Context(), "a", "w-kept", now.Add(-30*24*time.Hour)))
		for id, want := range map[string]bool{"w-stale": false, "w-recent": true, "w-kept": true, "w-other": true} {
			c, found, err := st.Cycle(t.Context(), id)
			require.NoError(t, err)
			require.Equal(t, want, found, id)
			if found {
				require.NotEmpty(t, c.Projects, id)
			}
		}
	})
}

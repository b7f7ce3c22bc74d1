package activities

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/store"
)

// TestCycleRecordChangesOnlyWhenTheCycleCompletes: DiscoverCycle keeps the
// cycle's projects and the record it would save in the store, and leaves the
// connection's record alone; CycleProjects pages through them; FinishCycle
// saves the record and forgets the cycle.
func TestCycleRecordChangesOnlyWhenTheCycleCompletes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f, orgProjects := orgFixture(t, tdb)
		ctx := context.Background()
		before := store.ConnectionState{ConnectionID: f.conn.ConnectionID, OrgSlug: f.conn.OrgSlug,
			Projects: []string{"gh/acme/old"}}
		require.NoError(t, tdb.st.SaveConnectionState(ctx, before))
		record := func() store.ConnectionState {
			st, err := tdb.st.ConnectionState(ctx, f.conn.ConnectionID)
			require.NoError(t, err)
			return st
		}

		configured := []string{"gh/acme/c1", "gh/acme/c2", "gh/acme/c3"}
		var found CycleDiscovery
		require.NoError(t, run(t, f.a.DiscoverCycle, DiscoverInput{Connection: f.conn, Projects: configured}, &found))
		require.Equal(t, CycleDiscovery{Projects: 3, First: configured}, found)
		require.Equal(t, []string{"gh/acme/old"}, record().Projects, "discovery leaves the record alone")

		var page []string
		require.NoError(t, run(t, f.a.CycleProjects, CyclePageInput{Offset: 1, Limit: 5}, &page))
		require.Equal(t, configured[1:], page)

		// A cycle that never completes: the next one discovers again, and only
		// its own projects join the record when it completes.
		require.NoError(t, run(t, f.a.DiscoverCycle, DiscoverInput{Connection: f.conn}, &found))
		require.Equal(t, len(orgProjects)+1, found.Projects)
		require.Equal(t, []string{"gh/acme/old"}, record().Projects)
		// Rows of the connection's runs that failed long ago, and a recent one's.
		old := time.Now().Add(-StaleCycleAfter - time.Hour)
		for id, at := range map[string]time.Time{"failed-long-ago": old, "running": time.Now()} {
			require.NoError(t, tdb.st.SaveCycle(ctx, store.Cycle{WorkflowID: id, ConnectionID: f.conn.ConnectionID,
				Projects: configured, SavedAt: at}))
		}
		require.NoError(t, run(t, f.a.FinishCycle, FinishCycleInput{Users: ResolveUsersInput{Connection: f.conn},
			Complete: CompleteConnectionInput{Connection: f.conn}}, nil))
		st := record()
		want := append([]string{"gh/acme/old"}, orgProjects...)
		slices.Sort(want)
		require.Equal(t, want, st.Projects)
		require.False(t, st.DiscoveredAt.IsZero(), "the discovery's dates are saved with the record")
		require.False(t, st.LastRunAt.IsZero())
		_, ok, err := tdb.st.Cycle(ctx, "default-test-workflow-id")
		require.NoError(t, err)
		require.False(t, ok, "the completed cycle is forgotten")
		_, ok, err = tdb.st.Cycle(ctx, "failed-long-ago")
		require.NoError(t, err)
		require.False(t, ok, "a stale cycle row goes with the next completed cycle")
		_, ok, err = tdb.st.Cycle(ctx, "running")
		require.NoError(t, err)
		require.True(t, ok, "a recent cycle row stays")
	})
}

package store

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// The repair state round-trips, and a state saved without it reads back empty.
func TestProjectStateRepairFields(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		s := ProjectState{ConnectionID: "c", ProjectSlug: "gh/acme/api", Watermark: at(1),
			RepairedAt: at(2), InsightsNames: []string{"build and test", "deploy/prod"}, InsightsNamesAt: at(3)}
		require.NoError(t, st.SaveProjectState(ctx, s))
		got, err := st.ProjectState(ctx, "c", "gh/acme/api")
		require.NoError(t, err)
		require.True(t, got.RepairedAt.Equal(at(2).Truncate(timePrecision)))
		require.True(t, got.InsightsNamesAt.Equal(at(3).Truncate(timePrecision)))
		require.Equal(t, s.InsightsNames, got.InsightsNames)

		require.NoError(t, st.SaveProjectState(ctx, ProjectState{ConnectionID: "c", ProjectSlug: "gh/acme/api"}))
		got, err = st.ProjectState(ctx, "c", "gh/acme/api")
		require.NoError(t, err)
		require.True(t, got.RepairedAt.IsZero())
		require.Nil(t, got.InsightsNames)
	})
}

// WorkflowNames lists a project's distinct names created since t, sorted.
func TestWorkflowNames(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		var b Batch
		for i, n := range []string{"b", "a", "b", "old", "other-project"} {
			slug := "gh/acme/api"
			if n == "other-project" {
				slug = "gh/acme/web"
			}
			w := newWorkflow("wf-"+n+string(rune('0'+i)), "p1", slug, "success", nil)
			w.Name, w.CreatedAt = n, at(10)
			if n == "old" {
				w.CreatedAt = at(0)
			}
			w.Raw, _ = json.Marshal(w)
			b.Workflows = append(b.Workflows, w)
		}
		write(t, st, b)
		names, err := st.WorkflowNames(ctx, "gh/acme/api", at(5))
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b"}, names)
	})
}

package store

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
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

// PipelineStates gives the state of the stored pipelines asked for.
func TestPipelineStates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st Store) {
		p1, p2 := newPipeline("p1", "gh/acme/api", 1, at(1)), newPipeline("p2", "gh/acme/api", 2, at(2))
		p2.State = "setup"
		write(t, st, Batch{Pipelines: []circleci.Pipeline{p1, p2}})
		got, err := st.PipelineStates(context.Background(), []string{"p1", "p2", "p3"})
		require.NoError(t, err)
		require.Equal(t, map[string]string{"p1": "created", "p2": "setup"}, got)
	})
}

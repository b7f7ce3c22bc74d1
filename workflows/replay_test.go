package workflows

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// TestReplayCommittedHistories replays the workflow histories recorded from real
// syncs (testdata/histories/<version>, recorded with scripts/record-histories.sh)
// against the current workflow code: a change that would break running or
// continued workflows fails here (docs/versioning.md says what to do then).
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	require.NoError(t, err)
	seen := map[string]int{}
	for _, f := range files {
		version := filepath.Base(filepath.Dir(f))
		t.Run(version+"/"+filepath.Base(f), func(t *testing.T) {
			raw, err := os.Open(f)
			require.NoError(t, err)
			defer raw.Close()
			h, err := client.HistoryFromJSON(raw, client.HistoryJSONOptions{})
			require.NoError(t, err)
			require.NotEmpty(t, h.Events)
			typ := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
			seen[version+" "+typ]++

			replayer := worker.NewWorkflowReplayer()
			Register(replayer)
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, h))
		})
	}
	// Both workflows of every version must be covered.
	for _, v := range versions(t) {
		require.Positive(t, seen[v+" "+ConnectionSyncName], "no ConnectionSync history in testdata/histories/%s", v)
		require.Positive(t, seen[v+" "+ProjectSyncName], "no ProjectSync history in testdata/histories/%s", v)
	}
}

// versions lists the directories of testdata/histories.
func versions(t *testing.T) []string {
	entries, err := os.ReadDir(filepath.Join("testdata", "histories"))
	require.NoError(t, err)
	var vs []string
	for _, e := range entries {
		if e.IsDir() {
			vs = append(vs, e.Name())
		}
	}
	require.NotEmpty(t, vs)
	return vs
}

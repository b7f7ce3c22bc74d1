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
// continued workflows fails here (then guard it with workflow.GetVersion). v0 holds
// runs from before ChangeOperations (no version marker: they replay through
// legacy.go), v1 runs of the current version.
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
	// Both workflows of both versions, and runs that continued as new, must be
	// covered.
	for _, v := range []string{"v0", "v1"} {
		require.Positive(t, seen[v+" "+ConnectionSyncName], "no ConnectionSync history in testdata/histories/%s", v)
		require.Positive(t, seen[v+" "+ProjectSyncName], "no ProjectSync history in testdata/histories/%s", v)
	}
}

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
// syncs (testdata/histories, recorded with scripts/record-histories.sh) against the
// current workflow code: a change that would break running or continued workflows
// fails here (then guard it with workflow.GetVersion).
func TestReplayCommittedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	require.NoError(t, err)
	seen := map[string]int{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.Open(f)
			require.NoError(t, err)
			defer raw.Close()
			h, err := client.HistoryFromJSON(raw, client.HistoryJSONOptions{})
			require.NoError(t, err)
			require.NotEmpty(t, h.Events)
			typ := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
			seen[typ]++

			replayer := worker.NewWorkflowReplayer()
			Register(replayer)
			require.NoError(t, replayer.ReplayWorkflowHistory(nil, h))
		})
	}
	// Both workflows, and runs that continued as new, must be covered.
	require.Positive(t, seen[ConnectionSyncName], "no ConnectionSync history in testdata/histories")
	require.Positive(t, seen[ProjectSyncName], "no ProjectSync history in testdata/histories")
}

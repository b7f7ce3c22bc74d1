package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// TestReplayTargetsOnlyRuns: every version of the recorded histories holds a
// targets-only run that ended idle after its events and the run a later event
// started (Update-with-Start); TestReplayCommittedHistories replays both.
func TestReplayTargetsOnlyRuns(t *testing.T) {
	for _, v := range versions(t) {
		for _, name := range []string{"ConnectionSync-targets.json", "ConnectionSync-targets-again.json"} {
			t.Run(v+"/"+name, func(t *testing.T) {
				h := loadHistory(t, filepath.Join("testdata", "histories", v, name))
				start := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
				require.Equal(t, ConnectionSyncName, start.GetWorkflowType().GetName())
				require.Contains(t, string(start.GetInput().GetPayloads()[0].GetData()), `"targets_only":true`)
				require.Positive(t, countType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), "events taken")
				require.Zero(t, countType(h, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), "no cycle")
				last := h.Events[len(h.Events)-1]
				require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, last.GetEventType(), "ended idle")
				if strings.Contains(name, "again") {
					require.Equal(t, 1, countType(h, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED), "one new event")
				}
			})
		}
	}
}

// loadHistory reads a history recorded as JSON.
func loadHistory(t *testing.T, path string) *historypb.History {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, h.Events)
	return h
}

// countType counts h's events of type typ.
func countType(h *historypb.History, typ enumspb.EventType) int {
	n := 0
	for _, ev := range h.Events {
		if ev.GetEventType() == typ {
			n++
		}
	}
	return n
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/webhook/receiver"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestWebhookRerunsOnOldPipelines: after a full sync, reruns on weeks-old
// pipelines reach the tables through signed events alone (no cycle: each
// connection is started by its first event, targets-only, and ends when
// idle); every event is delivered twice.
func TestWebhookRerunsOnOldPipelines(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			sc := newRerunScenario(t, b, "webhook")
			adv := sc.fake.Advance(circlecitest.Advance{Reruns: 2, RerunsFromFailed: 2, RerunMinAge: oldRerunAge})
			wfs := append(append([]string{}, adv.RerunWorkflows...), adv.RerunFromFailedWorkflows...)
			require.NotEmpty(t, wfs)
			sc.requireMissing(t, "no event delivered yet")
			const secret = "webhook-secret"
			conns := receiver.Connections{}
			idle := workflows.Duration(3 * time.Second)
			for _, in := range sc.ins {
				in.TargetsIdle = &idle
				conns[in.ConnectionID] = in
			}
			h := receiver.NewHandler(conns, receiver.Options{Secrets: receiver.Secrets{Global: secret},
				Handoff: receiver.Temporal{Client: sc.s.c, TaskQueue: sc.s.taskQueue}, HandoffTimeout: 10 * time.Second})
			srv := httptest.NewServer(receiver.NewMux(h, false))
			t.Cleanup(srv.Close)
			started := deliverReruns(t, srv.URL, secret, sc, wfs)
			for id, n := range started {
				var res workflows.ConnectionSyncResult
				require.NoError(t, sc.s.c.GetWorkflow(t.Context(), workflows.ConnectionWorkflowID(id), "").Get(t.Context(), &res))
				t.Logf("connection %s: %d workflows, %d jobs, %d requests by targets", id,
					res.TargetCounts.Of("workflow"), res.TargetCounts.Of("job"), res.TargetCounts.Requests)
				require.Zero(t, res.Cycle, "no cycle ran")
				require.Equal(t, n, countEvents(historyOf(t, sc, id), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
					"connection %s: each event, delivered twice, is one Update", id)
			}
			requireTablesEqual(t, sc.dbURL, sc.fake.Expected(sc.fake.Token()))
			if dir := os.Getenv("RECORD_HISTORIES_DIR"); dir != "" && b.name == "sqlite" {
				recordTargetsHistory(t, sc, dir)
			}
		})
	}
}

// historyOf returns the history of connection id's latest run.
func historyOf(t *testing.T, sc *rerunScenario, id string) []*historypb.HistoryEvent {
	var events []*historypb.HistoryEvent
	it := sc.s.c.GetWorkflowHistory(t.Context(), workflows.ConnectionWorkflowID(id), "", false,
		enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events = append(events, ev)
	}
	return events
}

// countEvents counts the events of type typ.
func countEvents(events []*historypb.HistoryEvent, typ enumspb.EventType) int {
	n := 0
	for _, ev := range events {
		if ev.GetEventType() == typ {
			n++
		}
	}
	return n
}

// recordTargetsHistory writes the first connection's targets-only run, for
// the replay test (scripts/record-histories.sh).
func recordTargetsHistory(t *testing.T, sc *rerunScenario, dir string) {
	events := historyOf(t, sc, sc.ins[0].ConnectionID)
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ConnectionSync-targets.json"), append(b, '\n'), 0o644))
}

// deliverReruns posts a signed workflow-completed event per workflow, twice,
// to its connection; it returns the number of events of each connection.
func deliverReruns(t *testing.T, url, secret string, sc *rerunScenario, wfs []string) map[string]int {
	t.Helper()
	byID := map[string]circlecitest.Workflow{}
	for _, w := range sc.fake.Expected(sc.fake.Token()).Workflows {
		byID[w.ID] = w
	}
	got := map[string]int{}
	for i, id := range wfs {
		w, ok := byID[id]
		require.True(t, ok, "workflow %s in the truth", id)
		conn := connectionOf(t, sc.ins, w.ProjectSlug)
		body := rerunEvent(t, fmt.Sprintf("evt-%d", i), w)
		for range 2 {
			req, err := http.NewRequest(http.MethodPost, url+"/circleci/"+conn, bytes.NewReader(body))
			require.NoError(t, err)
			req.Header.Set(webhooks.SignatureHeader, webhooks.Sign([]byte(secret), body))
			req.Header.Set("content-type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusAccepted, resp.StatusCode, "event %d", i)
		}
		got[conn]++
	}
	return got
}

// connectionOf returns the id of the connection whose org holds slug.
func connectionOf(t *testing.T, ins []workflows.ConnectionSyncInput, slug string) string {
	for _, in := range ins {
		if webhooks.InOrg(in.OrgSlug, slug) {
			return in.ConnectionID
		}
	}
	t.Fatalf("no connection for %s", slug)
	return ""
}

// rerunEvent is the body of w's workflow-completed event, its slug in the
// long form CircleCI sends.
func rerunEvent(t *testing.T, id string, w circlecitest.Workflow) []byte {
	slug := strings.Replace(strings.Replace(w.ProjectSlug, "gh/", "github/", 1), "bb/", "bitbucket/", 1)
	body, err := json.Marshal(map[string]any{
		"id": id, "type": webhooks.WorkflowCompleted, "happened_at": time.Now().UTC(),
		"project":  map[string]any{"id": "p", "slug": slug, "name": "p"},
		"workflow": map[string]any{"id": w.ID, "name": w.Name, "status": w.Status},
		"pipeline": map[string]any{"id": w.PipelineID, "number": 1},
	})
	require.NoError(t, err)
	return body
}

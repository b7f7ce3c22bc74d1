package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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
			runs := requireNewRun(t, srv.URL, secret, sc, wfs[0])
			if dir := os.Getenv("RECORD_HISTORIES_DIR"); dir != "" && b.name == "sqlite" {
				recordTargetsHistories(t, sc, dir, runs)
			}
		})
	}
}

// historyOf returns the history of connection id's latest run.
func historyOf(t *testing.T, sc *rerunScenario, id string) []*historypb.HistoryEvent {
	return runHistory(t, sc, id, "")
}

// runHistory returns the history of connection id's run runID ("": the latest).
func runHistory(t *testing.T, sc *rerunScenario, id, runID string) []*historypb.HistoryEvent {
	var events []*historypb.HistoryEvent
	it := sc.s.c.GetWorkflowHistory(t.Context(), workflows.ConnectionWorkflowID(id), runID, false,
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

// recordTargetsHistories writes, for the replay test
// (scripts/record-histories.sh), a targets-only run that ended idle and the
// run a later event started.
func recordTargetsHistories(t *testing.T, sc *rerunScenario, dir string, r targetsRuns) {
	for i, name := range []string{"ConnectionSync-targets.json", "ConnectionSync-targets-again.json"} {
		events := runHistory(t, sc, r.conn, r.runs[i])
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644))
	}
}

// targetsRuns are a connection and two of its targets-only runs.
type targetsRuns struct {
	conn string
	runs [2]string
}

// requireNewRun: once the targets-only run of workflow wf's connection has
// ended idle, a new event on wf starts a new run, which ends idle too.
func requireNewRun(t *testing.T, url, secret string, sc *rerunScenario, wf string) targetsRuns {
	t.Helper()
	var w circlecitest.Workflow
	for _, x := range sc.fake.Expected(sc.fake.Token()).Workflows {
		if x.ID == wf {
			w = x
		}
	}
	conn := connectionOf(t, sc.ins, w.ProjectSlug)
	first, err := describe(t.Context(), sc.s.c, workflows.ConnectionWorkflowID(conn))
	require.NoError(t, err)
	require.NotNil(t, first)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, first.GetWorkflowExecutionInfo().GetStatus())
	require.Equal(t, http.StatusAccepted, postEvent(t, url+"/circleci/"+conn, secret, rerunEvent(t, "evt-again", w)))
	run := sc.s.c.GetWorkflow(t.Context(), workflows.ConnectionWorkflowID(conn), "")
	var res workflows.ConnectionSyncResult
	require.NoError(t, run.Get(t.Context(), &res))
	runs := [2]string{first.GetWorkflowExecutionInfo().GetExecution().GetRunId(), run.GetRunID()}
	require.NotEqual(t, runs[0], runs[1], "a new run")
	require.Zero(t, res.Cycle)
	require.Positive(t, res.TargetCounts.Requests, "the new run synced the event's pipeline")
	return targetsRuns{conn, runs}
}

// postEvent posts body signed with secret and returns the status.
func postEvent(t *testing.T, url, secret string, body []byte) int {
	code, err := signedPost(url, secret, body)
	require.NoError(t, err)
	return code
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
			require.Equal(t, http.StatusAccepted, postEvent(t, url+"/circleci/"+conn, secret, body), "event %d", i)
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
func rerunEvent(_ *testing.T, id string, w circlecitest.Workflow) []byte { return eventBody(id, w) }

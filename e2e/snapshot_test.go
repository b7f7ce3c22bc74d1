package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// olderSnapshots rewrites a fake's answer into an older snapshot of the same
// entities: every terminal workflow and job back to "running" with no
// stopped_at, every created pipeline back to "pending" with an updated_at an
// hour earlier. It returns the new body and how many entities it changed.
func olderSnapshots(path string, body []byte) ([]byte, int) {
	var kind string
	switch {
	case strings.HasPrefix(path, "/api/v2/workflow/") && strings.HasSuffix(path, "/job"):
		kind = "job"
	case strings.HasPrefix(path, "/api/v2/pipeline/") && strings.HasSuffix(path, "/workflow"),
		strings.HasPrefix(path, "/api/v2/workflow/"):
		kind = "workflow"
	case strings.HasPrefix(path, "/api/v2/project/") && strings.HasSuffix(path, "/pipeline"),
		path == "/api/v2/pipeline", strings.HasPrefix(path, "/api/v2/pipeline/"):
		kind = "pipeline"
	default:
		return body, 0
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v map[string]any
	if d.Decode(&v) != nil {
		return body, 0
	}
	items := []any{v}
	if list, ok := v["items"].([]any); ok {
		items = list
	}
	n := 0
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			continue
		}
		switch kind {
		case "job", "workflow":
			status, _ := m["status"].(string)
			terminal := circleci.IsTerminalJobStatus(status)
			if kind == "workflow" {
				terminal = circleci.IsTerminalWorkflowStatus(status)
			}
			if terminal {
				m["status"], m["stopped_at"] = "running", nil
				n++
			}
		case "pipeline":
			state, _ := m["state"].(string)
			updated, _ := m["updated_at"].(string)
			at, err := time.Parse(time.RFC3339Nano, updated)
			if state == circleci.PipelineStateCreated && err == nil {
				m["state"] = circleci.PipelineStatePending
				m["updated_at"] = at.Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
				n++
			}
		}
	}
	if n == 0 {
		return body, 0
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body, 0
	}
	return out, n
}

// versions reads the columns the version guards protect: each workflow's and
// job's status and stopped_at, each pipeline's state and updated_at, keyed by
// table and id.
func versions(t *testing.T, dbURL string) map[string]string {
	t.Helper()
	db, err := openDB(dbURL)
	require.NoError(t, err)
	defer db.Close()
	out := map[string]string{}
	for table, q := range map[string]string{
		"workflow": `SELECT id, status || ' ' || COALESCE(CAST(stopped_at AS TEXT), 'null') FROM circleci_workflows`,
		"job":      `SELECT id, status || ' ' || COALESCE(CAST(stopped_at AS TEXT), 'null') FROM circleci_jobs`,
		"pipeline": `SELECT id, state || ' ' || COALESCE(CAST(updated_at AS TEXT), 'null') FROM circleci_pipelines`,
	} {
		rows, err := db.Query(q)
		require.NoError(t, err)
		for rows.Next() {
			var id, v string
			require.NoError(t, rows.Scan(&id, &v))
			out[table+"/"+id] = v
		}
		require.NoError(t, rows.Err())
		_ = rows.Close()
	}
	return out
}

// countTerminal counts the rows of versions whose status or state is terminal
// (final for pipelines), by kind.
func countTerminal(v map[string]string) map[string]int {
	out := map[string]int{}
	for k, val := range v {
		kind, _, _ := strings.Cut(k, "/")
		status, _, _ := strings.Cut(val, " ")
		switch {
		case kind == "workflow" && circleci.IsTerminalWorkflowStatus(status),
			kind == "job" && circleci.IsTerminalJobStatus(status),
			kind == "pipeline" && circleci.IsFinalPipelineState(status):
			out[kind]++
		}
	}
	return out
}

// TestOlderSnapshotNeverWins checks the store's version guards end to end, on
// each backend. After a full sync, a second full sync of the same
// organisations (other connections: first syncs, so every pipeline, workflow
// and job is read again) goes through a proxy that serves older snapshots:
// every terminal workflow and job as running with no stopped_at, every created
// pipeline as pending with an earlier updated_at. Not one stored status,
// stopped_at, state or updated_at changes, and the tables still equal the
// fake's Expected. Controls: the same older snapshots synced into an empty
// database are stored (the rewriting works); and a genuinely newer snapshot
// (the fake finishes its running workflows) does replace the stored rows on
// the next incremental sync.
func TestOlderSnapshotNeverWins(t *testing.T) {
	tsrv := startTemporal(t)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			sc := newFaultScenario(t, tsrv, b, faultSpec{name: "older", seed: 61, proxy: true,
				dataset: func(opts *circlecitest.Options) { opts.Faults.Latency = 5 * time.Millisecond }})
			dbURL, ex := sc.dbURL, sc.ex
			logs := sc.startWorker()

			// 1. The newer snapshot first.
			first := sc.inputs(sc.prefix + "-a")
			logResults(t, "full", first, sc.s.syncAll(t, first))
			requireTablesEqual(t, dbURL, ex)
			before := versions(t, dbURL)
			terminal := countTerminal(before)
			t.Logf("stored after the full sync: %d rows; terminal workflows %d, terminal jobs %d, final pipelines %d",
				len(before), terminal["workflow"], terminal["job"], terminal["pipeline"])

			// 2. Older snapshots of everything, read by first syncs of other
			// connections.
			older, changed := syncOlderSnapshots(t, sc, before, terminal)
			rep := requireTablesEqual(t, dbURL, ex)

			// Control: the same older snapshots are stored where nothing newer is.
			requireOlderStoredWhenAlone(t, sc, b)

			// Positive control: a newer snapshot replaces the stored one.
			adv := sc.fake.Advance(circlecitest.Advance{FinishRunning: true})
			require.NotEmpty(t, adv.FinishedWorkflows, "the dataset has running workflows")
			newer := sc.fake.Expected(sc.token)
			incremental := sc.s.syncAll(t, first)
			logResults(t, "newer snapshots", first, incremental)
			now := versions(t, dbURL)
			updated := 0
			for _, id := range adv.FinishedWorkflows {
				was, is := before["workflow/"+id], now["workflow/"+id]
				status, stopped, _ := strings.Cut(is, " ")
				if circleci.IsTerminalWorkflowStatus(status) && stopped != "null" && was != is {
					updated++
				} else {
					t.Errorf("workflow %s: stored %q, was %q: the finished snapshot did not replace the running one", id, is, was)
				}
			}
			t.Logf("newer snapshots: %d of %d finished workflows replaced their running rows (%d jobs finished, %d not run)",
				updated, len(adv.FinishedWorkflows), len(adv.FinishedJobs), len(adv.NotRunJobs))
			newRep := requireTablesEqual(t, dbURL, newer)

			st := walkHistories(t, tsrv.Client(), sc.s.allRuns(), sc.proxy.URL, sc.token)
			requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, sc.prefix, sc.token)
			sc.fig.Faults = fmt.Sprintf("%d older snapshots served (%d stored over newer ones); %d newer workflow snapshots stored",
				older, changed, updated)
			sc.fig.fromReport(rep)
			sc.fig.Rows += newRep.compared()
			sc.fig.fromHistories(st)
			sc.fig.Requests = sc.fake.Stats().Total
			sc.fig.log(t)
		})
	}
}

// syncOlderSnapshots runs first syncs of new connections through the proxy
// serving older snapshots (olderSnapshots) and checks that every terminal
// workflow and job was served older and that none of the versions stored
// before (terminal: countTerminal of before) changed. It returns the
// snapshots served older and the versions changed.
func syncOlderSnapshots(t *testing.T, sc *faultScenario, before map[string]string, terminal map[string]int) (int, int) {
	t.Helper()
	sc.proxy.setRewrite(olderSnapshots)
	second := sc.inputs(sc.prefix + "-b")
	results := sc.s.syncAll(t, second)
	older := sc.proxy.rewritten()
	sc.proxy.setRewrite(nil)
	logResults(t, "older snapshots", second, results)
	for _, r := range results {
		for _, p := range r.Projects {
			assert.False(t, p.Incremental, "%s: a first sync reads every pipeline again", p.ProjectSlug)
		}
	}
	t.Logf("the proxy served %d older snapshots (workflows, jobs, pipelines)", older)
	require.Greater(t, older, terminal["workflow"]+terminal["job"], "every terminal workflow and job was served older")
	after := versions(t, sc.dbURL)
	changed := 0
	for k, v := range before {
		if after[k] != v {
			changed++
			if changed <= 5 {
				t.Errorf("%s: stored %q, was %q before the older snapshot", k, after[k], v)
			}
		}
	}
	assert.Zero(t, changed, "no status, stopped_at, state or updated_at changed")
	assert.Len(t, after, len(before))
	return older, changed
}

// requireOlderStoredWhenAlone is the control of TestOlderSnapshotNeverWins:
// the older snapshots synced into an empty database of backend b (by a worker
// of its own) are stored, so the rewriting works.
func requireOlderStoredWhenAlone(t *testing.T, sc *faultScenario, b backend) {
	t.Helper()
	ctlURL := b.url(t)
	ctlQueue := newID("e2e-older-ctl-" + b.name)
	startWorker(t, sc.tsrv, ctlQueue, ctlURL)
	ctl := &syncer{c: sc.tsrv.Client(), taskQueue: ctlQueue}
	sc.proxy.setRewrite(olderSnapshots)
	ctl.syncAll(t, sc.inputs(sc.prefix+"-ctl"))
	sc.proxy.setRewrite(nil)
	ctlRep, err := compareDB(context.Background(), ctlURL, sc.ex)
	require.NoError(t, err)
	mismatched := map[string]int{}
	for _, d := range ctlRep.Tables {
		mismatched[d.Table] = d.Mismatched
	}
	ctlTerminal := countTerminal(versions(t, ctlURL))
	t.Logf("control, older snapshots into an empty database: mismatched %v; terminal workflows %d, terminal jobs %d, final pipelines %d",
		mismatched, ctlTerminal["workflow"], ctlTerminal["job"], ctlTerminal["pipeline"])
	assert.Positive(t, mismatched["circleci_workflows"], "control: the older workflows are stored")
	assert.Positive(t, mismatched["circleci_jobs"], "control: the older jobs are stored")
	assert.Positive(t, mismatched["circleci_pipelines"], "control: the older pipelines are stored")
}

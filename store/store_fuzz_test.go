package store

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// FuzzWriteBatch writes arbitrary valid snapshots of pipelines, workflows and jobs
// (ids, slugs and names with quotes, percent signs, unicode, NULs and invalid UTF-8;
// known and unknown statuses; null and non-null times) to a SQLite store, in batches,
// then possibly all again in another order. After every batch it checks:
//
//   - the write succeeded, and Written+Unchanged is the number of items;
//   - the invariants, against the previous read: a terminal workflow or job stays
//     terminal, a final pipeline stays final, a stored stopped_at (pipeline
//     updated_at) never goes back or to null, no row disappears;
//   - the stored rows and the Written count equal those of a model applying the
//     documented guard to each entity's snapshots in batch order;
//   - Counts equals the number of distinct ids.
func FuzzWriteBatch(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x10\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add([]byte("running success running failed canceled on_hold queued blocked"))
	f.Add([]byte{0xff, 0x00, 0x27, 0x25, 0xc3, 0xbc, 0x01, 0xfe, 0x80, 0x7f, 0x30, 0x31, 0x32, 0x33})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &fuzzGen{data: data}
		st := fuzzStore(t)

		pipelineIDs, workflowIDs, jobIDs := g.ids("p"), g.ids("w"), g.ids("j")
		slugs := []string{g.str(), g.str()}
		var items []any
		for n := 1 + g.intn(24); n > 0; n-- {
			switch g.intn(3) {
			case 0:
				items = append(items, g.pipeline(pipelineIDs, slugs))
			case 1:
				items = append(items, g.workflow(workflowIDs, pipelineIDs, slugs))
			default:
				items = append(items, g.job(jobIDs, workflowIDs, slugs))
			}
		}
		if g.intn(2) == 1 { // again, reordered
			again := append([]any(nil), items...)
			for i := len(again) - 1; i > 0; i-- {
				j := g.intn(i + 1)
				again[i], again[j] = again[j], again[i]
			}
			items = append(items, again...)
		}

		m := newFuzzModel()
		var prev fuzzState
		for len(items) > 0 {
			n := min(len(items), 1+g.intn(8))
			var b Batch
			wantWritten := 0
			for _, it := range items[:n] {
				switch it := it.(type) {
				case circleci.Pipeline:
					b.Pipelines = append(b.Pipelines, it)
				case circleci.Workflow:
					b.Workflows = append(b.Workflows, it)
				case circleci.Job:
					b.Jobs = append(b.Jobs, it)
				}
				if m.apply(it) {
					wantWritten++
				}
			}
			items = items[n:]

			stats, err := st.WriteBatch(context.Background(), b)
			require.NoError(t, err)
			require.Equal(t, n, stats.Written+stats.Unchanged)
			require.Equal(t, wantWritten, stats.Written)

			cur := readFuzzState(t, st)
			prev.requireSucceededBy(t, cur)
			m.requireStored(t, cur)
			prev = cur
			var want Counts
			for k, n := range map[string]int{KindPipeline: len(m.pipelines), KindWorkflow: len(m.workflows), KindJob: len(m.jobs)} {
				if n > 0 {
					if want.Entities == nil {
						want.Entities = map[string]int64{}
					}
					want.Entities[k] = int64(n)
				}
			}
			require.Equal(t, want, counts(t, st))
		}
	})
}

// fuzzStoreOnce holds the in-memory store the fuzz iterations share: opening one per
// iteration would dominate their time.
var fuzzStoreOnce struct {
	sync.Mutex
	st Store
}

// fuzzStore returns the shared in-memory store, emptied.
func fuzzStore(t *testing.T) Store {
	fuzzStoreOnce.Lock()
	defer fuzzStoreOnce.Unlock()
	if fuzzStoreOnce.st == nil {
		st, err := Open(context.Background(), MemoryPath)
		require.NoError(t, err)
		fuzzStoreOnce.st = st
	}
	for _, tbl := range []string{"circleci_pipelines", "circleci_workflows", "circleci_jobs"} {
		require.NoError(t, connOf(t, fuzzStoreOnce.st).exec(context.Background(), "DELETE FROM "+tbl))
	}
	return fuzzStoreOnce.st
}

// fuzzGen draws values from fuzz input; past its end every draw is 0.
type fuzzGen struct {
	data []byte
}

// intn returns a number in [0, n).
func (g *fuzzGen) intn(n int) int {
	if len(g.data) == 0 || n <= 1 {
		return 0
	}
	b := int(g.data[0])
	g.data = g.data[1:]
	return b % n
}

// fuzzAtoms are the pieces fuzz strings are made of.
var fuzzAtoms = []string{
	"a", "b", "'", `"`, "%", "_", " ", `\`, "ü", "😀", ";--", "\x00", "\xff", "/", "gh/o%rg/re po", "\\u0000", "?", "#",
}

// str returns a short string of atoms and raw bytes.
func (g *fuzzGen) str() string {
	var b strings.Builder
	for n := g.intn(4); n > 0; n-- {
		i := g.intn(len(fuzzAtoms) + 4)
		if i < len(fuzzAtoms) {
			b.WriteString(fuzzAtoms[i])
		} else {
			b.WriteByte(byte(g.intn(256)))
		}
	}
	return b.String()
}

// ids returns a pool of up to 3 non-empty ids: few, so that snapshots collide.
func (g *fuzzGen) ids(prefix string) []string {
	ids := make([]string, 1+g.intn(3))
	for i := range ids {
		ids[i] = g.str()
		if ids[i] == "" {
			ids[i] = prefix + string(rune('0'+i))
		}
	}
	return ids
}

// pick returns one of values.
func pick[T any](g *fuzzGen, values []T) T { return values[g.intn(len(values))] }

// status returns a known status, the empty one, or an unknown one.
func (g *fuzzGen) status(known []string) string {
	switch i := g.intn(len(known) + 2); {
	case i < len(known):
		return known[i]
	case i == len(known):
		return ""
	default:
		return "x" + g.str()
	}
}

// time returns nil or one of a few times (so that they tie).
func (g *fuzzGen) time() *time.Time {
	if g.intn(3) == 0 {
		return nil
	}
	return ptr(base.Add(time.Duration(g.intn(6)) * time.Minute))
}

// name returns a name telling the snapshots of one entity apart.
func (g *fuzzGen) name() string {
	if g.intn(2) == 0 {
		return "same"
	}
	return g.str()
}

// raw encodes an item as its raw JSON (deterministic: equal items, equal Raw).
func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (g *fuzzGen) pipeline(ids, slugs []string) circleci.Pipeline {
	p := circleci.Pipeline{
		ID: pick(g, ids), ProjectSlug: pick(g, slugs), Number: int64(g.intn(3)),
		State: g.status([]string{"created", "errored", "setup", "pending", "setup-pending"}), CreatedAt: base,
		UpdatedAt: g.time(), Trigger: circleci.Trigger{Type: g.name()},
	}
	p.Raw = raw(p)
	return p
}

func (g *fuzzGen) workflow(ids, pipelineIDs, slugs []string) circleci.Workflow {
	w := circleci.Workflow{
		ID: pick(g, ids), PipelineID: pick(g, pipelineIDs), ProjectSlug: pick(g, slugs), Name: g.name(),
		Status: g.status(knownWorkflowStatuses), CreatedAt: base, StoppedAt: g.time(),
	}
	if g.intn(2) == 0 {
		w.StartedBy = ptr(g.str())
	}
	w.Raw = raw(w)
	return w
}

func (g *fuzzGen) job(ids, workflowIDs, slugs []string) circleci.Job {
	j := circleci.Job{
		ID: pick(g, ids), WorkflowID: pick(g, workflowIDs), ProjectSlug: pick(g, slugs), Name: g.name(),
		Status: g.status(knownJobStatuses), StartedAt: g.time(), StoppedAt: g.time(), Dependencies: []string{},
	}
	j.Raw = raw(j)
	return j
}

// fuzzModel is what the store should hold: each entity's winning snapshot.
type fuzzModel struct {
	pipelines map[string]circleci.Pipeline
	workflows map[string]circleci.Workflow
	jobs      map[string]circleci.Job
}

func newFuzzModel() *fuzzModel {
	return &fuzzModel{
		pipelines: map[string]circleci.Pipeline{},
		workflows: map[string]circleci.Workflow{},
		jobs:      map[string]circleci.Job{},
	}
}

// notEarlier is the model of notEarlierGuard: incoming may replace stored.
func notEarlier(stored, incoming *time.Time) bool {
	return stored == nil || (incoming != nil && !incoming.Before(*stored))
}

// terminalAccepts is the model of terminalGuard.
func terminalAccepts(terminal func(string) bool, storedStatus, status string, storedStopped, stopped *time.Time) bool {
	return !(terminal(storedStatus) && !terminal(status)) && notEarlier(storedStopped, stopped)
}

// finalPipelineState is the model's final pipeline states, spelled out rather than
// taken from statuses.go: created and errored. The open states and unknown ones are
// not final.
func finalPipelineState(state string) bool {
	return state == circleci.PipelineStateCreated || state == circleci.PipelineStateErrored
}

// pipelineAccepts is the model of pipelineGuard.
func pipelineAccepts(storedState, state string, storedUpdated, updated *time.Time) bool {
	return !(finalPipelineState(storedState) && !finalPipelineState(state)) && notEarlier(storedUpdated, updated)
}

// apply applies one snapshot and reports whether the store should count it written.
func (m *fuzzModel) apply(item any) bool {
	switch it := item.(type) {
	case circleci.Pipeline:
		old, ok := m.pipelines[it.ID]
		if ok && (!pipelineAccepts(old.State, it.State, old.UpdatedAt, it.UpdatedAt) || reflect.DeepEqual(old, it)) {
			return false
		}
		m.pipelines[it.ID] = it
	case circleci.Workflow:
		old, ok := m.workflows[it.ID]
		if ok && (!terminalAccepts(circleci.IsTerminalWorkflowStatus, old.Status, it.Status, old.StoppedAt, it.StoppedAt) ||
			reflect.DeepEqual(old, it)) {
			return false
		}
		m.workflows[it.ID] = it
	case circleci.Job:
		old, ok := m.jobs[jobKey(it.WorkflowID, it.ID)]
		if ok && (!terminalAccepts(circleci.IsTerminalJobStatus, old.Status, it.Status, old.StoppedAt, it.StoppedAt) ||
			reflect.DeepEqual(old, it)) {
			return false
		}
		m.jobs[jobKey(it.WorkflowID, it.ID)] = it
	}
	return true
}

// jobKey names a job row, one per (workflow, job), unambiguously.
func jobKey(workflowID, id string) string { return fmt.Sprintf("%q/%q", workflowID, id) }

// fuzzState is what the fuzz test reads back: rows by id (jobs by jobKey).
type fuzzState struct {
	pipelines, workflows, jobs map[string]map[string]any
}

func readFuzzState(t *testing.T, st Store) fuzzState {
	byID := func(rows []map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range rows {
			out[r["id"].(string)] = r
		}
		return out
	}
	byJobKey := func(rows []map[string]any) map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, r := range rows {
			out[jobKey(r["workflow_id"].(string), r["id"].(string))] = r
		}
		return out
	}
	return fuzzState{
		pipelines: byID(readRows(t, st, pipelinesTable, "")),
		workflows: byID(readRows(t, st, workflowsTable, "")),
		jobs:      byJobKey(readRows(t, st, jobsTable, "")),
	}
}

// requireSucceededBy checks the guard's invariants from s to the later state next.
func (s fuzzState) requireSucceededBy(t *testing.T, next fuzzState) {
	t.Helper()
	notBack := func(what, id, col string, before, after map[string]any) {
		if b, ok := before[col].(time.Time); ok {
			a, ok := after[col].(time.Time)
			require.True(t, ok, "%s %q: %s went from %s to null", what, id, col, b)
			require.False(t, a.Before(b), "%s %q: %s went back from %s to %s", what, id, col, b, a)
		}
	}
	for id, before := range s.pipelines {
		after, ok := next.pipelines[id]
		require.True(t, ok, "pipeline %q vanished", id)
		if finalPipelineState(before["state"].(string)) {
			require.True(t, finalPipelineState(after["state"].(string)), "pipeline %q went from final %q to %q",
				id, before["state"], after["state"])
		}
		notBack("pipeline", id, "updated_at", before, after)
	}
	for _, e := range []struct {
		what     string
		before   map[string]map[string]any
		after    map[string]map[string]any
		terminal func(string) bool
	}{
		{"workflow", s.workflows, next.workflows, circleci.IsTerminalWorkflowStatus},
		{"job", s.jobs, next.jobs, circleci.IsTerminalJobStatus},
	} {
		for id, before := range e.before {
			after, ok := e.after[id]
			require.True(t, ok, "%s %q vanished", e.what, id)
			if e.terminal(before["status"].(string)) {
				require.True(t, e.terminal(after["status"].(string)), "%s %q went from terminal %q to %q",
					e.what, id, before["status"], after["status"])
			}
			notBack(e.what, id, "stopped_at", before, after)
		}
	}
}

// requireStored checks that the rows read are the model's snapshots.
func (m *fuzzModel) requireStored(t *testing.T, s fuzzState) {
	t.Helper()
	optTime := func(p *time.Time) any {
		if p == nil {
			return nil
		}
		return *p
	}
	require.Len(t, s.pipelines, len(m.pipelines))
	for id, p := range m.pipelines {
		requireRow(t, pipelinesTable, map[string]any{
			"state": p.State, "updated_at": optTime(p.UpdatedAt), "trigger_type": p.Trigger.Type, "number": p.Number,
			"project_slug": p.ProjectSlug, "raw": string(p.Raw),
		}, s.pipelines[id])
	}
	require.Len(t, s.workflows, len(m.workflows))
	for id, w := range m.workflows {
		var startedBy any
		if w.StartedBy != nil {
			startedBy = *w.StartedBy
		}
		requireRow(t, workflowsTable, map[string]any{
			"status": w.Status, "stopped_at": optTime(w.StoppedAt), "name": w.Name, "pipeline_id": w.PipelineID,
			"project_slug": w.ProjectSlug, "started_by": startedBy, "raw": string(w.Raw),
		}, s.workflows[id])
	}
	require.Len(t, s.jobs, len(m.jobs))
	for id, j := range m.jobs {
		requireRow(t, jobsTable, map[string]any{
			"status": j.Status, "stopped_at": optTime(j.StoppedAt), "started_at": optTime(j.StartedAt), "name": j.Name,
			"workflow_id": j.WorkflowID, "project_slug": j.ProjectSlug, "raw": string(j.Raw),
		}, s.jobs[id])
	}
}

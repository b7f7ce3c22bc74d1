package activities

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/store"
)

// TestSyncPipelinesBadInput: no target, more than MaxTargets, an id not a UUID
// and a project of another organisation are invalid_input.
func TestSyncPipelinesBadInput(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 3, Projects: 1, PipelinesPerProject: 2}, openSQLite(t))
	slug := firstProject(f)
	id := "5034460f-c7c4-4c43-9457-de07e2029e7b"
	many := make([]PipelineTarget, MaxTargets+1)
	for i := range many {
		many[i] = PipelineTarget{ProjectSlug: slug, PipelineID: id}
	}
	for name, ts := range map[string][]PipelineTarget{
		"none":       nil,
		"too_many":   many,
		"not_uuid":   {{ProjectSlug: slug, PipelineID: "../../me"}},
		"wf_uuid":    {{ProjectSlug: slug, PipelineID: id, WorkflowIDs: []string{"x"}}},
		"other_org":  {{ProjectSlug: "gh/other/api", PipelineID: id}},
		"empty_slug": {{PipelineID: id}},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(t, f.a.SyncPipelines, PipelinesInput{Connection: f.conn, Targets: ts}, nil)
			requireAppError(t, err, ErrInvalidInput, true)
		})
	}
}

// TestSyncPipelinesTargets: a pipeline not stored is read whole (pipeline,
// workflow list, job lists); a stored one with a known workflow costs that
// workflow's GET and its job lists; a pipeline that answers 404 goes to the
// ledger; no watermark moves.
func TestSyncPipelinesTargets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, tdb testDB) {
		f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 4}, tdb)
		slug := firstProject(f)
		ex := f.srv.Expected(testToken)
		p := ex.Pipelines[0]
		var wfs []circlecitest.Workflow
		jobs := map[string]int{}
		for _, w := range ex.Workflows {
			if w.PipelineID == p.ID {
				wfs = append(wfs, w)
			}
		}
		for _, j := range ex.Jobs {
			jobs[j.WorkflowID]++
		}
		var c SyncCounts
		require.NoError(t, run(t, f.a.SyncPipelines, PipelinesInput{Connection: f.conn, Targets: []PipelineTarget{
			{ProjectSlug: slug, PipelineID: p.ID}, {ProjectSlug: strings.ToUpper(slug[:2]) + slug[2:], PipelineID: p.ID},
		}}, &c))
		want := int64(2) // the pipeline, its workflow list
		for _, w := range wfs {
			want += pageCount(jobs[w.ID])
		}
		require.Equal(t, want, c.Requests, "duplicates merged: one read")
		require.Equal(t, []string{p.ID}, tdb.ids(t, "circleci_pipelines", "id"))
		require.EqualValues(t, len(wfs), c.Of(store.KindWorkflow))

		// Known workflow: its GET and job lists (it changed: delete its row).
		_, err := tdb.db.Exec("DELETE FROM circleci_workflows WHERE id = $1", wfs[0].ID)
		require.NoError(t, err)
		require.NoError(t, run(t, f.a.SyncPipelines, PipelinesInput{Connection: f.conn, Targets: []PipelineTarget{
			{ProjectSlug: slug, PipelineID: p.ID, WorkflowIDs: []string{wfs[0].ID}},
		}}, &c))
		require.Equal(t, 1+pageCount(jobs[wfs[0].ID]), c.Requests)
		require.EqualValues(t, 1, c.Of(store.KindWorkflow))

		missing := "0b4d3f4c-0000-4000-8000-000000000000"
		require.NoError(t, run(t, f.a.SyncPipelines, PipelinesInput{Connection: f.conn, Targets: []PipelineTarget{
			{ProjectSlug: slug, PipelineID: missing},
		}}, &c))
		require.EqualValues(t, 1, c.Skipped)
		st, err := tdb.st.ProjectState(context.Background(), f.conn.ConnectionID, slug)
		require.NoError(t, err)
		require.True(t, st.Watermark.IsZero(), "no watermark moved")
	})
}

// TestSyncPipelinesResumes: a retry resumes after the targets its heartbeat says are done.
func TestSyncPipelinesResumes(t *testing.T) {
	f := newFixture(t, circlecitest.Options{Seed: 5, Projects: 1, PipelinesPerProject: 4}, openSQLite(t))
	slug := firstProject(f)
	ex := f.srv.Expected(testToken)
	ts := mergeTargets([]PipelineTarget{{ProjectSlug: slug, PipelineID: ex.Pipelines[0].ID},
		{ProjectSlug: slug, PipelineID: ex.Pipelines[1].ID}})
	var c SyncCounts
	require.NoError(t, run(t, f.a.SyncPipelines, PipelinesInput{Connection: f.conn, Targets: ts}, &c,
		func(env *testsuite.TestActivityEnvironment) { env.SetHeartbeatDetails(PipelinesProgress{Done: 1}) }))
	require.Equal(t, []string{ts[1].PipelineID}, f.tdb.ids(t, "circleci_pipelines", "id"))
}

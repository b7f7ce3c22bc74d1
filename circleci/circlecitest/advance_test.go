package circlecitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdvanceNewPipelinesComeFirst(t *testing.T) {
	s := NewServer(Options{Seed: 8})
	defer s.Close()
	before := s.Dataset()
	res := s.Advance(Advance{NewPipelines: 6})
	assert.Equal(t, before.Now.Add(DefaultAdvanceStep), res.Now)
	assert.Equal(t, res.Now, s.Now())
	require.Len(t, res.NewPipelines, 6)

	after := s.Dataset()
	require.Len(t, after.Pipelines, len(before.Pipelines)+6)
	var got []string
	for _, p := range after.Pipelines[:6] {
		got = append(got, p.ID)
		assert.True(t, p.CreatedAt.After(before.Now))
		assert.True(t, p.CreatedAt.Before(res.Now))
	}
	assert.Equal(t, res.NewPipelines, got)

	// Over HTTP too: first in the org list and in each project list, numbers
	// continuing the project's.
	var p page
	get(t, s, "/api/v2/pipeline", &p)
	assert.Equal(t, res.NewPipelines, ids(p.Items[:6]))
	perProject := map[string]int{}
	for _, pl := range after.Pipelines[:6] {
		perProject[pl.ProjectSlug]++
	}
	assert.Len(t, perProject, len(after.Projects), "spread over the projects")
	for _, proj := range after.Projects {
		var pp page
		get(t, s, projectPath(proj.Slug)+"/pipeline", &pp)
		n := perProject[proj.Slug]
		for _, it := range pp.Items[:n] {
			assert.Contains(t, res.NewPipelines, it["id"])
		}
		assert.Greater(t, pp.Items[0]["number"], pp.Items[n]["number"])
	}

	// Some of the new pipelines are still running.
	running := 0
	for _, wf := range after.Workflows {
		if wf.Status == workflowStatusRunning {
			for _, id := range res.NewPipelines {
				if wf.PipelineID == id {
					running++
				}
			}
		}
	}
	assert.Positive(t, running)
}

func TestAdvanceFinishRunning(t *testing.T) {
	s := NewServer(Options{Seed: 8})
	defer s.Close()
	before := s.Dataset()
	updated := map[string]time.Time{}
	for _, p := range before.Pipelines {
		updated[p.ID] = p.UpdatedAt
	}
	var active []string
	for _, wf := range before.Workflows {
		if !isTerminalWorkflow(wf.Status) {
			active = append(active, wf.ID)
		}
	}
	require.NotEmpty(t, active)

	res := s.Advance(Advance{FinishRunning: true, Step: 2 * time.Hour})
	assert.ElementsMatch(t, active, res.FinishedWorkflows)
	assert.NotEmpty(t, res.FinishedJobs)
	after := s.Dataset()
	for _, wf := range after.Workflows {
		assert.True(t, isTerminalWorkflow(wf.Status), wf.ID)
		require.NotNil(t, wf.StoppedAt)
		assert.False(t, wf.StoppedAt.After(res.Now))
	}
	finished := map[string]bool{}
	for _, id := range res.FinishedJobs {
		finished[id] = true
	}
	for _, j := range after.Jobs {
		assert.True(t, isTerminalJob(j.Status), "%s %s", j.ID, j.Status)
		if !finished[j.ID] {
			continue
		}
		require.NotNil(t, j.StartedAt, j.ID)
		require.NotNil(t, j.StoppedAt, j.ID)
		assert.False(t, j.StoppedAt.Before(*j.StartedAt))
		assert.True(t, j.StoppedAt.After(before.Now))
		if j.Type == jobTypeBuild {
			assert.NotNil(t, j.JobNumber, j.ID)
		} else {
			assert.NotEmpty(t, j.ApprovedBy)
		}
	}
	for _, p := range after.Pipelines {
		assert.Equal(t, updated[p.ID], p.UpdatedAt, "updated_at does not move")
	}

	// Over HTTP: a finished job has its number and times.
	var jp page
	get(t, s, "/api/v2/workflow/"+active[0]+"/job", &jp)
	for _, it := range jp.Items {
		assert.NotNil(t, it["started_at"])
		assert.NotNil(t, it["stopped_at"])
	}
}

func TestAdvanceReruns(t *testing.T) {
	s := NewServer(Options{Seed: 12})
	defer s.Close()
	before := s.Dataset()
	res := s.Advance(Advance{Reruns: 3})
	require.Len(t, res.RerunPipelines, 3)
	require.Len(t, res.RerunWorkflows, 3)
	after := s.Dataset()
	byID := map[string]Pipeline{}
	for _, p := range before.Pipelines {
		byID[p.ID] = p
	}
	wfCount := func(d Dataset, pid string) (n int, names map[string]bool) {
		names = map[string]bool{}
		for _, wf := range d.Workflows {
			if wf.PipelineID == pid {
				n++
				names[wf.Name] = true
			}
		}
		return n, names
	}
	for i, pid := range res.RerunPipelines {
		p := byID[pid]
		assert.True(t, p.CreatedAt.Before(res.Now.Add(-24*time.Hour)), "an older pipeline")
		nb, names := wfCount(before, pid)
		na, _ := wfCount(after, pid)
		assert.Equal(t, nb+1, na)

		var items []map[string]any
		items, _ = walk(t, s, "/api/v2/pipeline/"+pid+"/workflow")
		require.Len(t, items, na)
		rerun := items[0]
		assert.Equal(t, res.RerunWorkflows[i], rerun["id"], "the rerun comes first")
		assert.True(t, names[rerun["name"].(string)], "same name as an existing workflow")
		assert.Equal(t, "success", rerun["status"])
		assert.NotEmpty(t, rerun["started_by"])
		created, err := time.Parse(time.RFC3339, rerun["created_at"].(string))
		require.NoError(t, err)
		assert.True(t, created.After(before.Now))

		jobs, _ := walk(t, s, "/api/v2/workflow/"+res.RerunWorkflows[i]+"/job")
		assert.NotEmpty(t, jobs)

		var pl map[string]any
		get(t, s, "/api/v2/pipeline/"+pid, &pl)
		assert.Equal(t, p.UpdatedAt.UTC().Format(wireTimeLayout), pl["updated_at"], "updated_at unchanged")
	}
}

func TestAdvanceOverHTTP(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	start := s.Now()
	r, err := http.Post(s.URL+"/_fake/advance", "application/json",
		bytes.NewBufferString(`{"new_pipelines":2,"finish_running":true,"reruns":1,"step":"30m"}`))
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)
	var res AdvanceResult
	require.NoError(t, json.NewDecoder(r.Body).Decode(&res))
	assert.Equal(t, start.Add(30*time.Minute), res.Now)
	assert.Len(t, res.NewPipelines, 2)
	assert.Len(t, res.RerunWorkflows, 1)
	assert.NotEmpty(t, res.FinishedWorkflows)

	// An empty body advances by the default step.
	r2, err := http.Post(s.URL+"/_fake/advance", "application/json", nil)
	require.NoError(t, err)
	r2.Body.Close()
	assert.Equal(t, start.Add(30*time.Minute+DefaultAdvanceStep), s.Now())
}

func TestAdvanceKeepsPagingStable(t *testing.T) {
	s := NewServer(Options{Seed: 30})
	defer s.Close()
	slug := s.Dataset().Projects[0].Slug
	var first page
	get(t, s, projectPath(slug)+"/pipeline", &first)
	require.NotNil(t, first.NextPageToken)
	s.Advance(Advance{NewPipelines: 9})
	var second page
	get(t, s, withQuery(projectPath(slug)+"/pipeline", "page-token", *first.NextPageToken), &second)
	seen := map[string]bool{}
	for _, id := range ids(first.Items) {
		seen[id] = true
	}
	for _, id := range ids(second.Items) {
		assert.False(t, seen[id], "no repeat after new pipelines")
	}
	assert.Len(t, second.Items, DefaultPipelinesPerProject-PageSize)
}

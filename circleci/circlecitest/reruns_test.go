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

// jobsOf returns the dataset's jobs of workflow wf, in list order.
func jobsOf(d Dataset, wf string) []Job {
	var out []Job
	for _, j := range d.Jobs {
		if j.WorkflowID == wf {
			out = append(out, j)
		}
	}
	return out
}

// TestAdvanceRerunsFromFailed: the new workflow lists the original's successful build
// jobs as they are (same id, number, times), runs the others again with new ids, and
// neither the original nor the pipeline's updated_at change.
func TestAdvanceRerunsFromFailed(t *testing.T) {
	s := NewServer(Options{Seed: 12})
	defer s.Close()
	before := s.Dataset()
	res := s.Advance(Advance{RerunsFromFailed: 3})
	require.Len(t, res.RerunFromFailedPipelines, 3)
	require.Len(t, res.RerunFromFailedWorkflows, 3)
	require.Empty(t, res.RerunWorkflows)
	require.Positive(t, res.ReusedJobs)
	after := s.Dataset()
	wfByID := map[string]Workflow{}
	for _, wf := range before.Workflows {
		wfByID[wf.ID] = wf
	}
	reused := 0
	for i, pid := range res.RerunFromFailedPipelines {
		items, _ := walk(t, s, "/api/v2/pipeline/"+pid+"/workflow")
		require.Equal(t, res.RerunFromFailedWorkflows[i], items[0]["id"], "the rerun comes first")
		assert.Equal(t, "success", items[0]["status"])
		var orig Workflow
		for _, it := range items[1:] {
			if w := wfByID[it["id"].(string)]; w.Status == workflowStatusFailed && w.Name == items[0]["name"] {
				orig = w
				break
			}
		}
		require.NotEmpty(t, orig.ID, "a failed workflow of the same name")
		assert.Equal(t, jobsOf(before, orig.ID), jobsOf(after, orig.ID), "the original is unchanged")
		reused += requireReused(t, s, jobsOf(before, orig.ID), res.RerunFromFailedWorkflows[i])

		var pl map[string]any
		get(t, s, "/api/v2/pipeline/"+pid, &pl)
		for _, p := range before.Pipelines {
			if p.ID == pid {
				assert.Equal(t, p.UpdatedAt.UTC().Format(wireTimeLayout), pl["updated_at"], "updated_at unchanged")
			}
		}
	}
	assert.Equal(t, res.ReusedJobs, reused)

	// Expected lists a reused job once per workflow.
	ex := s.Expected(DefaultToken)
	seen := map[string][]string{}
	for _, j := range ex.Jobs {
		seen[j.ID] = append(seen[j.ID], j.WorkflowID)
	}
	twice := 0
	for _, wfs := range seen {
		if len(wfs) == 2 {
			twice++
			assert.NotEqual(t, wfs[0], wfs[1])
		}
	}
	assert.Equal(t, res.ReusedJobs, twice)
}

// requireReused checks the rerun's job list (over HTTP) against the original's jobs and
// returns how many it reuses.
func requireReused(t *testing.T, s *Server, orig []Job, rerun string) int {
	t.Helper()
	items, _ := walk(t, s, "/api/v2/workflow/"+rerun+"/job")
	require.Len(t, items, len(orig), "the same graph")
	listed := map[string]bool{}
	n := 0
	for i, it := range items {
		o := orig[i]
		assert.Equal(t, o.Name, it["name"])
		assert.Equal(t, "success", it["status"])
		if o.Type == jobTypeBuild && o.Status == jobStatusSuccess && it["id"] == o.ID {
			n++
			assert.EqualValues(t, *o.JobNumber, it["job_number"], "same number")
			assert.Equal(t, o.StartedAt.UTC().Format(wireTimeLayout), it["started_at"], "same times")
			assert.Equal(t, o.StoppedAt.UTC().Format(wireTimeLayout), it["stopped_at"], "same times")
		} else {
			assert.NotEqual(t, o.ID, it["id"], "%s runs again with a new id", o.Name)
		}
		for _, d := range it["dependencies"].([]any) {
			assert.True(t, listed[d.(string)], "dependencies are in the list, before")
		}
		listed[it["id"].(string)] = true
	}
	require.Positive(t, n)
	return n
}

// TestAdvanceRerunsFromStartMakeNewJobs: a rerun from start shares no job id.
func TestAdvanceRerunsFromStartMakeNewJobs(t *testing.T) {
	s := NewServer(Options{Seed: 12})
	defer s.Close()
	res := s.Advance(Advance{Reruns: 4, RerunsFromFailed: 2})
	require.Len(t, res.RerunWorkflows, 4)
	d := s.Dataset()
	rerun := map[string]bool{}
	for _, id := range res.RerunWorkflows {
		rerun[id] = true
	}
	owners := map[string]int{}
	for _, j := range d.Jobs {
		owners[j.ID]++
	}
	for _, j := range d.Jobs {
		if rerun[j.WorkflowID] {
			assert.Equal(t, 1, owners[j.ID], "job %s of a rerun from start is new", j.ID)
		}
	}
}

// TestAdvanceRerunMinAge: reruns of both kinds pick pipelines at least RerunMinAge old.
func TestAdvanceRerunMinAge(t *testing.T) {
	s := NewServer(Options{Seed: 12})
	defer s.Close()
	created := map[string]time.Time{}
	for _, p := range s.Dataset().Pipelines {
		created[p.ID] = p.CreatedAt
	}
	age := 21 * 24 * time.Hour
	res := s.Advance(Advance{Reruns: 3, RerunsFromFailed: 2, RerunMinAge: age})
	require.Len(t, res.RerunPipelines, 3)
	require.Len(t, res.RerunFromFailedPipelines, 2)
	for _, pid := range append(res.RerunPipelines, res.RerunFromFailedPipelines...) {
		assert.True(t, created[pid].Before(res.Now.Add(-age)), "pipeline %s is weeks old", pid)
	}
}

// TestAdvanceRerunsFromFailedDeterministic: the same seed and steps give the same data.
func TestAdvanceRerunsFromFailedDeterministic(t *testing.T) {
	run := func() (AdvanceResult, Dataset) {
		s := NewServer(Options{Seed: 5})
		defer s.Close()
		res := s.Advance(Advance{NewPipelines: 3, FinishRunning: true, Reruns: 1, RerunsFromFailed: 2,
			RerunMinAge: 14 * 24 * time.Hour})
		return res, s.Dataset()
	}
	r1, d1 := run()
	r2, d2 := run()
	assert.Equal(t, r1, r2)
	assert.Equal(t, d1, d2)
}

// TestAdvanceRerunOptionsOverHTTP: /_fake/advance reads the rerun options.
func TestAdvanceRerunOptionsOverHTTP(t *testing.T) {
	s := NewServer(Options{Seed: 12})
	defer s.Close()
	r, err := http.Post(s.URL+"/_fake/advance", "application/json",
		bytes.NewBufferString(`{"reruns_from_failed":1,"rerun_min_age":"336h"}`))
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, http.StatusOK, r.StatusCode)
	var res AdvanceResult
	require.NoError(t, json.NewDecoder(r.Body).Decode(&res))
	assert.Len(t, res.RerunFromFailedWorkflows, 1)
	assert.Positive(t, res.ReusedJobs)

	b, err := json.Marshal(Advance{RerunsFromFailed: 2, RerunMinAge: 336 * time.Hour})
	require.NoError(t, err)
	var back Advance
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, Advance{RerunsFromFailed: 2, RerunMinAge: 336 * time.Hour}, back)
}

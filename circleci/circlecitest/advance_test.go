package circlecitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
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

// TestAdvanceFinishRunningConsistent checks that FinishRunning leaves every
// workflow in a state its jobs agree with: statuses follow the job graph (a
// failure's dependents end not_run, without times or numbers) and times are
// ordered.
func TestAdvanceFinishRunningConsistent(t *testing.T) {
	notRunAfterFailure := 0
	for seed := int64(1); seed <= 12; seed++ {
		s := NewHandler(Options{Seed: seed})
		before := s.Dataset()
		wasPending := map[string]bool{}
		for _, j := range before.Jobs {
			wasPending[j.ID] = !isTerminalJob(j.Status)
		}
		wasActive := map[string]bool{}
		for _, wf := range before.Workflows {
			if !isTerminalWorkflow(wf.Status) {
				wasActive[wf.ID] = true
			}
		}
		require.NotEmpty(t, wasActive, "seed %d", seed)
		res := s.Advance(Advance{FinishRunning: true})
		after := s.Dataset()
		assert.ElementsMatch(t, slices.Collect(maps.Keys(wasActive)), res.FinishedWorkflows, "seed %d", seed)
		jobsByWf := map[string][]Job{}
		for _, j := range after.Jobs {
			jobsByWf[j.WorkflowID] = append(jobsByWf[j.WorkflowID], j)
		}
		byID := map[string]Job{}
		for _, j := range after.Jobs {
			byID[j.ID] = j
		}
		for _, id := range res.FinishedJobs {
			j := byID[id]
			assert.Contains(t, []string{jobStatusSuccess, jobStatusFailed}, j.Status, "seed %d: finished job %s", seed, id)
		}
		for _, id := range res.NotRunJobs {
			assert.Equal(t, jobStatusNotRun, byID[id].Status, "seed %d: not_run job %s", seed, id)
		}
		for _, wf := range after.Workflows {
			where := fmt.Sprintf("seed %d workflow %s (%s)", seed, wf.ID, wf.Status)
			assert.True(t, isTerminalWorkflow(wf.Status), where)
			require.NotNil(t, wf.StoppedAt, where)
			assert.False(t, wf.StoppedAt.Before(wf.CreatedAt), where)
			assert.False(t, wf.StoppedAt.After(after.Now), where)
			jobs := jobsByWf[wf.ID]
			require.NotEmpty(t, jobs, where)

			// broken[id]: the job failed, or a job it depends on (transitively) did.
			broken := map[string]bool{}
			hasFailure := false
			for _, j := range jobs { // graph order: dependencies come first
				jw := fmt.Sprintf("%s job %s %q (%s)", where, j.ID, j.Name, j.Status)
				assert.True(t, isTerminalJob(j.Status), jw)
				switch j.Status {
				case jobStatusFailed, jobStatusTimedOut, jobStatusInfrastructureFail:
					broken[j.ID] = true
					hasFailure = hasFailure || j.Status != jobStatusInfrastructureFail
				}
				for _, d := range j.Dependencies {
					dep, ok := byID[d]
					require.True(t, ok, jw)
					if broken[d] {
						broken[j.ID] = true
						if wf.Status == workflowStatusFailed {
							assert.Equal(t, jobStatusNotRun, j.Status, "%s: downstream of a failure", jw)
						}
					}
					if j.StartedAt != nil && dep.Status == jobStatusSuccess {
						require.NotNil(t, dep.StoppedAt, jw)
						assert.False(t, j.StartedAt.Before(*dep.StoppedAt), "%s: starts after its dependency %s", jw, d)
					}
				}
				if j.Status == jobStatusNotRun {
					assert.Nil(t, j.StartedAt, jw)
					assert.Nil(t, j.StoppedAt, jw)
					assert.Nil(t, j.JobNumber, jw)
					if wasPending[j.ID] {
						notRunAfterFailure++
					}
				}
				if j.StartedAt != nil && j.StoppedAt != nil {
					assert.False(t, j.StoppedAt.Before(*j.StartedAt), "%s: stopped_at >= started_at", jw)
				}
				if j.StoppedAt != nil {
					assert.False(t, wf.StoppedAt.Before(*j.StoppedAt), "%s: workflow stopped_at >= job stopped_at", jw)
				}
				if wasPending[j.ID] && j.Status != jobStatusNotRun {
					assert.NotNil(t, j.StartedAt, jw)
					assert.NotNil(t, j.StoppedAt, jw)
					if j.Type == jobTypeBuild {
						assert.NotNil(t, j.JobNumber, jw)
					}
				}
			}
			switch wf.Status {
			case workflowStatusFailed:
				assert.True(t, hasFailure, "%s: a failed workflow has a failed or timedout job", where)
			case workflowStatusSuccess:
				for _, j := range jobs {
					assert.Equal(t, jobStatusSuccess, j.Status, "%s: job %s of a successful workflow", where, j.ID)
				}
			}
		}
	}
	assert.Positive(t, notRunAfterFailure, "some finished workflow failed with jobs downstream of the failure")
}

package circlecitest

import "time"

// rerunCandidates are the pipelines a rerun may pick, newest first: created, created
// at least minAge ago, with workflows all finished, neither broken nor expired.
func (w *world) rerunCandidates(minAge time.Duration, sets faultSets) []*Pipeline {
	var out []*Pipeline
	cutoff := w.now.Add(-minAge)
	for _, p := range w.all {
		if p.State != pipelineStateCreated || !p.CreatedAt.Before(cutoff) || len(w.wfByPipeline[p.ID]) == 0 ||
			!w.pipelineFinished(p.ID) || sets.broken[p.ID] || sets.expired[p.ID] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// rerunFromFailed reruns from failed the newest failed workflow (with a successful
// build job) of n of the candidates. The pipeline's updated_at stays, as on CircleCI.
func (w *world) rerunFromFailed(g gen, n int, candidates []*Pipeline, res *AdvanceResult) {
	origs := map[string]*Workflow{}
	var eligible []*Pipeline
	for _, p := range candidates {
		if wf := w.failedWithSuccess(p.ID); wf != nil {
			origs[p.ID] = wf
			eligible = append(eligible, p)
		}
	}
	eligible = shuffled(g.r, eligible)
	for _, p := range eligible[:min(n, len(eligible))] {
		orig := origs[p.ID]
		jobs := w.jobsByWf[orig.ID]
		plan := g.planFromJobs(jobs)
		reused := reusable(jobs)
		for i := range plan {
			if reused[i] {
				plan[i].queue, plan[i].dur = 0, 0 // listed as done from the start
			}
		}
		created := w.now.Add(-g.between(20*time.Second, 40*time.Second))
		wf := w.runWorkflow(g, p, orig.Name, orig.Tag == "setup", plan, modeSuccess, created, w.now)
		res.ReusedJobs += w.reuseJobs(wf, jobs, reused)
		w.wfByPipeline[p.ID] = append([]*Workflow{wf}, w.wfByPipeline[p.ID]...)
		res.RerunFromFailedPipelines = append(res.RerunFromFailedPipelines, p.ID)
		res.RerunFromFailedWorkflows = append(res.RerunFromFailedWorkflows, wf.ID)
	}
}

// failedWithSuccess returns the pipeline's newest failed workflow that has a
// successful build job, or nil.
func (w *world) failedWithSuccess(pipelineID string) *Workflow {
	for _, wf := range w.wfByPipeline[pipelineID] {
		if wf.Status != workflowStatusFailed {
			continue
		}
		for _, ok := range reusable(w.jobsByWf[wf.ID]) {
			if ok {
				return wf
			}
		}
	}
	return nil
}

// reusable marks the jobs a rerun from failed lists as they are: successful build
// jobs whose dependencies are all reused too (so that the new graph stays whole).
func reusable(jobs []*Job) []bool {
	index := map[string]int{}
	out := make([]bool, len(jobs))
	for i, j := range jobs {
		index[j.ID] = i
		out[i] = j.Type == jobTypeBuild && j.Status == jobStatusSuccess
		for _, d := range j.Dependencies {
			if k, ok := index[d]; !ok || !out[k] {
				out[i] = false
			}
		}
	}
	return out
}

// reuseJobs replaces wf's reused jobs by copies of the originals (listed under wf)
// and points the other jobs' dependencies at them; it returns how many it reused.
func (w *world) reuseJobs(wf *Workflow, orig []*Job, reused []bool) int {
	jobs := w.jobsByWf[wf.ID]
	rename := map[string]string{}
	for i, j := range jobs {
		if reused[i] {
			rename[j.ID] = orig[i].ID
			delete(w.jobs, j.ID) // w.jobs keeps the original; the copy is numbered already
			c := orig[i].clone()
			c.WorkflowID = wf.ID
			jobs[i] = &c
		}
	}
	for i, j := range jobs {
		if reused[i] {
			continue
		}
		for k, d := range j.Dependencies {
			if o, ok := rename[d]; ok {
				j.Dependencies[k] = o
			}
		}
		for d, st := range j.Requires {
			if o, ok := rename[d]; ok {
				delete(j.Requires, d)
				j.Requires[o] = st
			}
		}
	}
	return len(rename)
}

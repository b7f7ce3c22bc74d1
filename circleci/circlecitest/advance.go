package circlecitest

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Advance moves the fake's time forward, deterministically.
type Advance struct {
	// NewPipelines adds that many pipelines round-robin over the projects, created
	// during the step; the newest third (at least one) are running.
	NewPipelines int `json:"new_pipelines"`
	// FinishRunning ends every running, failing and on_hold workflow during the step as
	// its run would (one in four running ones with a failed job, its dependents not_run).
	// Pipelines' updated_at does not change.
	FinishRunning bool `json:"finish_running"`
	// Reruns reruns from start a workflow of that many older, finished pipelines: a
	// new workflow with new jobs. As on CircleCI, the pipeline's updated_at stays.
	Reruns int `json:"reruns"`
	// RerunsFromFailed reruns from failed a failed workflow of that many older,
	// finished pipelines: the new workflow lists the original's successful build jobs
	// as they are (same id, number and times) and runs the others again.
	RerunsFromFailed int `json:"reruns_from_failed"`
	// RerunMinAge: both kinds rerun only pipelines created at least this long ago
	// (default DefaultRerunMinAge; weeks force reruns on old pipelines).
	RerunMinAge time.Duration `json:"rerun_min_age"`
	// RerunUsers adds that many users, new to the dataset, who start the step's
	// reruns (round-robin): a rerun's actor may be someone no sync has seen.
	RerunUsers int `json:"rerun_users"`
	// Step is how far the clock moves (default DefaultAdvanceStep, at least a minute).
	Step time.Duration `json:"step"`
}

// MarshalJSON writes Step and RerunMinAge as Go duration strings.
func (a Advance) MarshalJSON() ([]byte, error) {
	type plain Advance
	return json.Marshal(struct {
		plain
		Step        string `json:"step"`
		RerunMinAge string `json:"rerun_min_age"`
	}{plain(a), a.Step.String(), a.RerunMinAge.String()})
}

// UnmarshalJSON reads Step and RerunMinAge as Go duration strings ("90m") or nanoseconds.
func (a *Advance) UnmarshalJSON(b []byte) error {
	type plain Advance
	var v struct {
		plain
		Step        json.RawMessage `json:"step"`
		RerunMinAge json.RawMessage `json:"rerun_min_age"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d, err := parseJSONDuration(v.Step)
	if err != nil {
		return fmt.Errorf("step: %w", err)
	}
	age, err := parseJSONDuration(v.RerunMinAge)
	if err != nil {
		return fmt.Errorf("rerun_min_age: %w", err)
	}
	*a = Advance(v.plain)
	a.Step, a.RerunMinAge = d, age
	return nil
}

// AdvanceResult says what an Advance changed. Id lists are never nil.
type AdvanceResult struct {
	// Now is the new dataset clock.
	Now time.Time `json:"now"`
	// NewPipelines are the ids of the added pipelines, newest first.
	NewPipelines []string `json:"new_pipelines"`
	// FinishedWorkflows are the ids of the workflows FinishRunning finished.
	FinishedWorkflows []string `json:"finished_workflows"`
	// FinishedJobs are the jobs FinishRunning ran to an end.
	FinishedJobs []string `json:"finished_jobs"`
	// NotRunJobs are the jobs FinishRunning ended not_run after a failed dependency.
	NotRunJobs []string `json:"not_run_jobs"`
	// RerunPipelines are the pipelines that got a rerun workflow.
	RerunPipelines []string `json:"rerun_pipelines"`
	// RerunWorkflows are the new workflows, in the order of RerunPipelines.
	RerunWorkflows []string `json:"rerun_workflows"`
	// RerunFromFailedPipelines are the pipelines rerun from failed.
	RerunFromFailedPipelines []string `json:"rerun_from_failed_pipelines"`
	// RerunFromFailedWorkflows are their new workflows, in the same order.
	RerunFromFailedWorkflows []string `json:"rerun_from_failed_workflows"`
	// ReusedJobs counts the jobs those workflows list from their originals.
	ReusedJobs int `json:"reused_jobs"`
	// RerunUsers are the users Advance.RerunUsers added.
	RerunUsers []string `json:"rerun_users"`
}

// Advance moves the dataset clock by a.Step and applies a (see Advance).
// Workflows and jobs it finishes are reported to the registered webhooks.
func (s *Server) Advance(a Advance) AdvanceResult {
	s.mu.Lock()
	var done map[string]bool
	if s.hooks.any() {
		done = s.w.terminalSet()
	}
	res := s.w.advance(a, s.sets)
	var ds []*delivery
	dups := 0
	if done != nil {
		ds, dups = s.hooks.plan(s.w.completedSince(done), s.hooks.out.opts)
	}
	s.mu.Unlock()
	s.hooks.out.enqueue(ds, dups)
	return res
}

func (w *world) advance(a Advance, sets faultSets) AdvanceResult {
	step := a.Step
	if step <= 0 {
		step = DefaultAdvanceStep
	}
	step = max(step, time.Minute)
	g := gen{w.rng}
	old := w.now
	w.now = old.Add(step).Truncate(time.Millisecond)
	res := AdvanceResult{Now: w.now, NewPipelines: []string{}, FinishedWorkflows: []string{}, FinishedJobs: []string{},
		NotRunJobs: []string{}, RerunPipelines: []string{}, RerunWorkflows: []string{},
		RerunFromFailedPipelines: []string{}, RerunFromFailedWorkflows: []string{}, RerunUsers: []string{}}
	minAge := a.RerunMinAge
	if minAge <= 0 {
		minAge = DefaultRerunMinAge
	}
	if a.FinishRunning {
		w.finishRunning(g, old, &res)
	}
	if a.Reruns > 0 {
		w.rerun(g, a.Reruns, w.rerunCandidates(minAge, sets), &res)
	}
	if a.RerunsFromFailed > 0 {
		w.rerunFromFailed(g, a.RerunsFromFailed, w.rerunCandidates(minAge, sets), &res)
	}
	if a.RerunUsers > 0 {
		w.startReruns(g, a.RerunUsers, &res)
	}
	if a.NewPipelines > 0 {
		w.addNewPipelines(g, a.NewPipelines, old, &res)
	}
	w.assignJobNumbers()
	w.sortAll()
	w.indexJobNumbers()
	return res
}

// finishRunning ends every non-terminal workflow between old and w.now, through
// schedule as in a simulated run, so that statuses and times stay consistent.
func (w *world) finishRunning(g gen, old time.Time, res *AdvanceResult) {
	span := w.now.Sub(old) * 9 / 10
	for _, p := range w.all {
		for _, wf := range w.wfByPipeline[p.ID] {
			if isTerminalWorkflow(wf.Status) {
				continue
			}
			jobs := w.jobsByWf[wf.ID]
			plan := jobGraph(jobs)
			failOne := wf.Status == workflowStatusRunning && g.chance(0.25)
			for i, j := range jobs {
				switch {
				case isTerminalJob(j.Status):
					plan[i].outcome = j.Status
				case failOne && !plan[i].approval:
					plan[i].outcome = jobStatusFailed
					failOne = false
				}
			}
			schedule(plan, 0) // marks the jobs downstream of a failure skipped
			var run []int     // the pending jobs that run, in graph order
			for i, j := range jobs {
				switch {
				case isTerminalJob(j.Status):
				case plan[i].skipped:
					j.Status = jobStatusNotRun
					j.StartedAt, j.StoppedAt, j.JobNumber = nil, nil, nil
					res.NotRunJobs = append(res.NotRunJobs, j.ID)
				default:
					run = append(run, i)
				}
			}
			slot := (span / time.Duration(len(run)+1)).Truncate(time.Millisecond)
			for k, i := range run {
				j := jobs[i]
				start := old.Add(slot*time.Duration(k) + g.between(0, slot/4+time.Millisecond))
				stop := old.Add(slot * time.Duration(k+1))
				if j.StartedAt == nil {
					j.StartedAt = &start
				}
				j.StoppedAt = &stop
				j.Status = plan[i].outcome
				if j.Type == jobTypeApproval {
					j.ApprovedBy = pick(g, w.users).ID
				}
				res.FinishedJobs = append(res.FinishedJobs, j.ID)
			}
			states := make([]jobState, len(jobs))
			for i, j := range jobs {
				states[i].status = j.Status
			}
			stopped := old.Add(slot * time.Duration(len(run)+1))
			wf.Status = deriveStatus(states)
			wf.StoppedAt = &stopped
			res.FinishedWorkflows = append(res.FinishedWorkflows, wf.ID)
		}
	}
}

// rerun reruns from start a workflow of n of the candidates.
func (w *world) rerun(g gen, n int, candidates []*Pipeline, res *AdvanceResult) {
	candidates = shuffled(g.r, candidates)
	for _, p := range candidates[:min(n, len(candidates))] {
		wfs := w.wfByPipeline[p.ID]
		orig := wfs[g.intn(len(wfs))]
		for _, wf := range wfs {
			if wf.Status == workflowStatusFailed {
				orig = wf
				break
			}
		}
		plan := g.planFromJobs(w.jobsByWf[orig.ID])
		created := w.now.Add(-g.between(20*time.Second, 40*time.Second))
		wf := w.runWorkflow(g, p, orig.Name, orig.Tag == "setup", plan, modeSuccess, created, w.now)
		w.wfByPipeline[p.ID] = append([]*Workflow{wf}, wfs...)
		res.RerunPipelines = append(res.RerunPipelines, p.ID)
		res.RerunWorkflows = append(res.RerunWorkflows, wf.ID)
	}
}

// planFromJobs plans a rerun of jobs: same names, types and graph, new times.
func (g gen) planFromJobs(jobs []*Job) []planJob {
	plan := jobGraph(jobs)
	for i := range plan {
		plan[i].queue = g.between(200*time.Millisecond, 5*time.Second)
		plan[i].dur = g.between(5*time.Second, 2*time.Minute)
	}
	return plan
}

// jobGraph returns the plan of jobs in graph order, every outcome success, no times.
func jobGraph(jobs []*Job) []planJob {
	index := map[string]int{}
	for i, j := range jobs {
		index[j.ID] = i
	}
	plan := make([]planJob, len(jobs))
	for i, j := range jobs {
		pj := planJob{name: j.Name, approval: j.Type == jobTypeApproval, outcome: jobStatusSuccess}
		for _, d := range j.Dependencies {
			if k, ok := index[d]; ok && k < i {
				pj.deps = append(pj.deps, k)
			}
		}
		plan[i] = pj
	}
	return plan
}

// addNewPipelines creates n pipelines between old and w.now.
func (w *world) addNewPipelines(g gen, n int, old time.Time, res *AdvanceResult) {
	window := w.now.Sub(old) - time.Minute
	times := make([]time.Time, n)
	for i := range times {
		times[i] = old.Add(time.Second + time.Duration(g.r.Int64N(int64(window)+1))).Truncate(time.Millisecond)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	forced := (n + 2) / 3
	perProject := map[int][]*Pipeline{}
	var order []int
	var made []*Pipeline
	for i, t := range times {
		pi := w.nextProject % len(w.projects)
		w.nextProject++
		mode := modeNatural
		if i >= n-forced {
			mode = modeRunning
		}
		errored := mode == modeNatural && g.chance(0.05)
		p := w.newPipeline(g, pi, t, errored, mode, w.now)
		if _, ok := perProject[pi]; !ok {
			order = append(order, pi)
		}
		perProject[pi] = append(perProject[pi], p)
		made = append(made, p)
	}
	for _, pi := range order {
		w.addPipelines(pi, perProject[pi])
	}
	for i := len(made) - 1; i >= 0; i-- {
		res.NewPipelines = append(res.NewPipelines, made[i].ID)
	}
}

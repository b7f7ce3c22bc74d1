package circlecitest

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// A simulated workflow run keeps job statuses, times and the workflow status
// consistent with the job graph, including a run cut at "now".

// forever is the offset of something that never happens.
const forever = time.Duration(math.MaxInt64)

// planJob is one job of a simulated workflow. Offsets are from the workflow's
// created_at.
type planJob struct {
	name     string
	approval bool
	deps     []int
	queue    time.Duration // from ready to start (build jobs)
	dur      time.Duration // run time, or wait for approval
	outcome  string        // status once it ran: success, failed, timedout, infrastructure_fail
	hold     bool          // approval never approved while simulated

	ready, start, stop time.Duration // computed by schedule
	skipped            bool          // a dependency did not succeed: ends not_run
	skipAt             time.Duration // when that became known
}

// workflow simulation modes.
const (
	modeSuccess  = "success"
	modeFailed   = "failed"
	modeError    = "error"
	modeCanceled = "canceled"
	modeRunning  = "running"
	modeFailing  = "failing"
	modeOnHold   = "on_hold"
	modeNatural  = "natural" // whatever a run started at created_at looks like at the cut
)

// buildJobNames are the names of a workflow's build jobs, in order.
var buildJobNames = []string{
	"checkout", "lint", "unit-tests", "build", "integration-tests", "build-image",
	"security-scan", "e2e-tests", "publish-artifacts", "deploy-staging", "smoke-tests",
	"deploy-production",
}

func buildJobName(i int) string {
	if i < len(buildJobNames) {
		return buildJobNames[i]
	}
	return fmt.Sprintf("test-shard-%d", i-len(buildJobNames)+1)
}

// planJobs lays out n jobs in stages (a checkout job, then 1..4 parallel jobs each
// depending on one or two of the stage before), with an approval stage if asked.
func (g gen) planJobs(n int, approval, wide bool) []planJob {
	if approval && n < 2 {
		n = 2
	}
	remaining := n - 1
	if approval {
		remaining--
	}
	widths := []int{1}
	for remaining > 0 {
		w := 1 + g.intn(4)
		if len(widths) == 1 && wide {
			w = max(w, 2)
		}
		w = min(w, remaining)
		widths = append(widths, w)
		remaining -= w
	}
	if approval {
		pos := 1 + (len(widths)-1)/2
		widths = append(widths[:pos], append([]int{0}, widths[pos:]...)...) // 0 marks the approval stage
	}
	var jobs []planJob
	var prev []int
	build := 0
	for _, w := range widths {
		var stage []int
		if w == 0 {
			stage = []int{len(jobs)}
			jobs = append(jobs, planJob{name: "hold", approval: true, deps: append([]int(nil), prev...),
				dur: g.between(time.Minute, 2*time.Hour), outcome: jobStatusSuccess})
			prev = stage
			continue
		}
		prevIsApproval := len(prev) == 1 && jobs[prev[0]].approval
		for range w {
			j := planJob{name: buildJobName(build), queue: g.between(200*time.Millisecond, 15*time.Second),
				dur: g.between(10*time.Second, 4*time.Minute), outcome: jobStatusSuccess}
			build++
			if len(prev) > 0 {
				if prevIsApproval {
					j.deps = []int{prev[0]}
				} else {
					a := pick(g, prev)
					j.deps = []int{a}
					if len(prev) > 1 && g.chance(0.3) {
						if b := pick(g, prev); b != a {
							j.deps = append(j.deps, b)
						}
					}
				}
			}
			stage = append(stage, len(jobs))
			jobs = append(jobs, j)
		}
		prev = stage
	}
	return jobs
}

// schedule computes when each job gets ready, starts and stops, from offset
// first (the first job's ready time).
func schedule(jobs []planJob, first time.Duration) {
	for i := range jobs {
		j := &jobs[i]
		j.skipped, j.skipAt = false, 0
		j.ready = first
		for _, d := range j.deps {
			dep := &jobs[d]
			switch {
			case dep.skipped:
				j.skipped = true
				j.skipAt = max(j.skipAt, dep.skipAt)
			case dep.outcome != jobStatusSuccess:
				j.skipped = true
				j.skipAt = max(j.skipAt, dep.stop)
			}
			j.ready = max(j.ready, dep.stop)
		}
		switch {
		case j.skipped || j.ready == forever:
			j.start, j.stop = forever, forever
			if j.skipped {
				j.ready = forever
			}
		case j.approval:
			j.start = j.ready
			j.stop = j.ready + j.dur
			if j.hold {
				j.stop = forever
			}
		default:
			j.start = j.ready + j.queue
			j.stop = j.start + j.dur
		}
	}
}

// end returns the last finite stop (or skip) offset.
func end(jobs []planJob) time.Duration {
	var e time.Duration
	for _, j := range jobs {
		if j.stop != forever {
			e = max(e, j.stop)
		}
		if j.skipped {
			e = max(e, j.skipAt)
		}
	}
	return e
}

// scale multiplies every finite offset by f.
func scale(jobs []planJob, f float64) {
	s := func(d time.Duration) time.Duration {
		if d == forever {
			return d
		}
		return time.Duration(float64(d) * f)
	}
	for i := range jobs {
		j := &jobs[i]
		j.ready, j.start, j.stop, j.skipAt = s(j.ready), s(j.start), s(j.stop), s(j.skipAt)
	}
}

// jobState is a simulated job as seen at the cut.
type jobState struct {
	status           string
	started, stopped *time.Duration
}

func dptr(d time.Duration) *time.Duration { return &d }

// evaluate returns each job's state at offset cut. With cancel, the workflow
// was canceled at cut: what had not finished is canceled.
func evaluate(jobs []planJob, cut time.Duration, cancel bool) []jobState {
	out := make([]jobState, len(jobs))
	for i, j := range jobs {
		var s jobState
		switch {
		case j.skipped && j.skipAt <= cut:
			s.status = jobStatusNotRun
		case j.skipped || j.ready > cut:
			s.status = jobStatusBlocked
			if cancel {
				s.status = jobStatusCanceled
			}
		case j.approval && j.stop > cut:
			s.status = jobStatusOnHold
			if cancel {
				s.status = jobStatusCanceled
			}
		case j.approval:
			s = jobState{status: jobStatusSuccess, started: dptr(j.start), stopped: dptr(j.stop)}
		case j.start > cut:
			s.status = jobStatusQueued
			if cancel {
				s.status = jobStatusCanceled
			}
		case j.stop > cut:
			s = jobState{status: jobStatusRunning, started: dptr(j.start)}
			if cancel {
				s = jobState{status: jobStatusCanceled, started: dptr(j.start), stopped: dptr(cut)}
			}
		default:
			s = jobState{status: j.outcome, started: dptr(j.start), stopped: dptr(j.stop)}
		}
		out[i] = s
	}
	return out
}

// deriveStatus is the workflow status that job states add up to.
func deriveStatus(states []jobState) string {
	var active, failed, hold bool
	for _, s := range states {
		switch s.status {
		case jobStatusRunning, jobStatusQueued:
			active = true
		case jobStatusFailed, jobStatusTimedOut, jobStatusInfrastructureFail:
			failed = true
		case jobStatusOnHold:
			hold = true
		}
	}
	switch {
	case active && failed:
		return workflowStatusFailing
	case active:
		return workflowStatusRunning
	case hold:
		return workflowStatusOnHold
	case failed:
		return workflowStatusFailed
	}
	return workflowStatusSuccess
}

// buildIndexes returns the indexes of the build (non-approval) jobs.
func buildIndexes(jobs []planJob) []int {
	var out []int
	for i, j := range jobs {
		if !j.approval {
			out = append(out, i)
		}
	}
	return out
}

// siblings returns the pairs of build jobs at the same depth, which run in parallel.
func siblings(jobs []planJob) [][2]int {
	depth := make([]int, len(jobs))
	for i, j := range jobs {
		for _, d := range j.deps {
			depth[i] = max(depth[i], depth[d]+1)
		}
	}
	var out [][2]int
	for a := range jobs {
		for b := a + 1; b < len(jobs); b++ {
			ja, jb := jobs[a], jobs[b]
			if ja.approval || jb.approval || len(ja.deps) == 0 || len(jb.deps) == 0 {
				continue
			}
			if depth[a] == depth[b] {
				out = append(out, [2]int{a, b})
			}
		}
	}
	return out
}

// simulate runs a plan in mode for a workflow created at created, as seen at now:
// the job states, the workflow status and its stopped_at offset (nil while running).
func (g gen) simulate(jobs []planJob, mode string, created, now time.Time) ([]jobState, string, *time.Duration) {
	first := g.between(2*time.Second, 6*time.Second)
	switch mode {
	case modeSuccess, modeFailed, modeError, modeCanceled:
		avail := max(now.Sub(created)-time.Second, time.Millisecond)
		return g.simulateTerminal(jobs, mode, first, avail)
	case modeRunning, modeFailing, modeOnHold:
		target := max(now.Sub(created)-time.Millisecond, time.Millisecond)
		return g.simulateActive(jobs, mode, first, target)
	default:
		return g.simulateNatural(jobs, first, now.Sub(created)-time.Millisecond)
	}
}

// simulateTerminal runs a workflow that ended with status mode, squeezed into
// avail if it would take longer.
func (g gen) simulateTerminal(jobs []planJob, mode string, first, avail time.Duration) ([]jobState, string, *time.Duration) {
	if mode == modeFailed || mode == modeError {
		f := pick(g, buildIndexes(jobs))
		switch {
		case mode == modeError:
			jobs[f].outcome = jobStatusInfrastructureFail
		case g.chance(0.15):
			jobs[f].outcome = jobStatusTimedOut
		default:
			jobs[f].outcome = jobStatusFailed
		}
	}
	schedule(jobs, first)
	if e := end(jobs); e > avail {
		scale(jobs, float64(avail)/float64(e))
	}
	if mode == modeCanceled {
		e := end(jobs)
		cut := e/4 + time.Duration(g.r.Int64N(int64(e/2)+1))
		return evaluate(jobs, cut, true), mode, dptr(cut)
	}
	states := evaluate(jobs, forever, false)
	return states, mode, dptr(lastStop(states))
}

// simulateActive runs a workflow that shows mode (running, failing, on_hold) at
// offset target, stretching the run so that the moment falls there.
func (g gen) simulateActive(jobs []planJob, mode string, first, target time.Duration) ([]jobState, string, *time.Duration) {
	var cut time.Duration
	switch mode {
	case modeFailing:
		pairs := siblings(jobs)
		if len(pairs) == 0 {
			return g.simulateActive(jobs, modeRunning, first, target)
		}
		// f fails while its parallel sibling o still runs.
		p := pick(g, pairs)
		f, o := p[0], p[1]
		jobs[f].outcome = jobStatusFailed
		schedule(jobs, first)
		if jobs[o].stop <= jobs[f].stop {
			jobs[o].dur += jobs[f].stop - jobs[o].stop + g.between(2*time.Minute, 10*time.Minute)
			schedule(jobs, first)
		}
		cut = jobs[f].stop + (jobs[o].stop-jobs[f].stop)/2
	case modeOnHold:
		h := slices.IndexFunc(jobs, func(j planJob) bool { return j.approval })
		if h < 0 {
			return g.simulateActive(jobs, modeRunning, first, target)
		}
		// Everything not waiting for the approval has finished.
		jobs[h].hold = true
		schedule(jobs, first)
		cut = max(end(jobs), jobs[h].ready) + g.between(time.Minute, 20*time.Minute)
	default: // modeRunning
		r := pick(g, buildIndexes(jobs))
		schedule(jobs, first)
		cut = jobs[r].start + jobs[r].dur/2
		// Keep a parallel sibling of r queued at the cut.
		for _, p := range siblings(jobs) {
			q := -1
			switch r {
			case p[0]:
				q = p[1]
			case p[1]:
				q = p[0]
			}
			if q >= 0 && !jobs[q].skipped && jobs[q].ready <= cut {
				jobs[q].queue = cut - jobs[q].ready + g.between(30*time.Second, 5*time.Minute)
				schedule(jobs, first)
				break
			}
		}
	}
	scale(jobs, float64(target)/float64(cut))
	states := evaluate(jobs, target, false)
	status := deriveStatus(states)
	if isTerminalWorkflow(status) {
		return states, status, dptr(lastStop(states))
	}
	return states, status, nil
}

// simulateNatural runs a workflow as it goes, seen at offset cut: finished,
// or still running or on hold. One build job in 25 fails.
func (g gen) simulateNatural(jobs []planJob, first, cut time.Duration) ([]jobState, string, *time.Duration) {
	for _, b := range buildIndexes(jobs) {
		if g.chance(0.04) {
			jobs[b].outcome = jobStatusFailed
			break
		}
	}
	schedule(jobs, first)
	states := evaluate(jobs, cut, false)
	status := deriveStatus(states)
	if !isTerminalWorkflow(status) {
		return states, status, nil
	}
	return states, status, dptr(lastStop(states))
}

// lastStop is the latest stopped_at offset of the job states.
func lastStop(states []jobState) time.Duration {
	var stop time.Duration
	for _, s := range states {
		if s.stopped != nil {
			stop = max(stop, *s.stopped)
		}
	}
	return stop
}

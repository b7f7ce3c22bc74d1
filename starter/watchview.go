package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// watchSample is one progress answer and when it came.
type watchSample struct {
	at time.Time
	p  workflows.ConnectionProgress
}

// watchView renders the watch screen from the latest sample and the one before
// (for the request rates); done counts the projects finished since the start.
type watchView struct {
	prev, cur watchSample
	started   time.Time
	now       time.Time // the last refresh
}

const barWidth = 24

// render writes the screen: the connection line, a bar per running project,
// the totals and the last error.
func (v watchView) render(w io.Writer) {
	p := v.cur.p
	done := p.Projects.Completed + p.Projects.Failed
	fmt.Fprintf(w, "connection %s (%s) · cycle %d · phase %s · %s elapsed\n", p.ConnectionID, p.OrgSlug, p.Cycle,
		p.Phase, roundDuration(v.now.Sub(v.started)))
	fmt.Fprintf(w, "projects %s %d/%d done", bar(done, p.Projects.Total), done, p.Projects.Total)
	if p.Projects.Failed > 0 {
		fmt.Fprintf(w, " (%d failed)", p.Projects.Failed)
	}
	fmt.Fprintf(w, ", %d running%s\n\n", len(p.RunningProjects), v.eta(done))
	avg := v.averagePipelines()
	for _, rp := range p.RunningProjects {
		v.renderProject(w, rp, avg)
	}
	if len(p.RunningProjects) > 0 {
		fmt.Fprintln(w)
	}
	t := p.Totals
	fmt.Fprintf(w, "totals   %d pipelines · %d workflows · %d jobs · %s · %d requests (%.1f/s)\n",
		t.Of(store.KindPipeline), t.Of(store.KindWorkflow), t.Of(store.KindJob), users(p.Users, t.Of(store.KindUser)), t.Requests,
		rate(v.prev.p.Totals.Requests, t.Requests, v.cur.at.Sub(v.prev.at)))
	if t.RateLimited > 0 || t.Skipped > 0 {
		fmt.Fprintf(w, "         %d answered 429 · %d skipped\n", t.RateLimited, t.Skipped)
	}
	if e := p.LastError; e != nil {
		fmt.Fprintf(w, "last error (%s, %s): %s\n", e.Where, e.At.UTC().Format(time.RFC3339), oneLine(e.Error, 160))
	}
}

// renderProject writes a running project's line: a bar of its pipelines
// against the average of the projects done (an estimate), its rate and what
// is left.
func (v watchView) renderProject(w io.Writer, rp workflows.RunningProject, avg int64) {
	n := rp.Counts.Of(store.KindPipeline)
	var before int64
	for _, o := range v.prev.p.RunningProjects {
		if o.ProjectSlug == rp.ProjectSlug {
			before = o.Counts.Requests
		}
	}
	r := rate(before, rp.Counts.Requests, v.cur.at.Sub(v.prev.at))
	left, drawn := "left: unknown until a project is done", bar(0, 0)
	if avg > 0 {
		left = fmt.Sprintf("~%d pipelines left (projects average %d)", max(avg-n, 0), avg)
		drawn = bar(int(min(n, avg)), int(avg))
	}
	fmt.Fprintf(w, "  %-32s %-8s %s %5d pipelines %6.1f req/s  %s\n", oneLine(rp.ProjectSlug, 32), rp.Phase,
		drawn, n, r, left)
}

// averagePipelines is the pipelines per finished project so far (0: none).
func (v watchView) averagePipelines() int64 {
	p := v.cur.p
	done := int64(p.Projects.Completed + p.Projects.Failed)
	if done == 0 {
		return 0
	}
	var running int64
	for _, rp := range p.RunningProjects {
		running += rp.Counts.Of(store.KindPipeline)
	}
	return (p.Totals.Of(store.KindPipeline) - running) / done
}

// eta estimates the time left from the projects' pace so far.
func (v watchView) eta(done int) string {
	// Only the completed projects tell how long one takes: a failed one may
	// have ended at once (not found).
	total, completed := v.cur.p.Projects.Total, v.cur.p.Projects.Completed
	if completed == 0 || done >= total {
		return ""
	}
	elapsed := v.now.Sub(v.started)
	return fmt.Sprintf(", about %s left", roundDuration(elapsed*time.Duration(total-done)/time.Duration(completed)))
}

// users says what the users figure means: fetched, and already fresh once
// the users step is done (it comes after the projects).
func users(u *activities.ResolveUsersResult, fetched int64) string {
	if u == nil {
		return "users after the projects"
	}
	return fmt.Sprintf("%d users fetched (%d already fresh)", fetched, u.Fresh)
}

// bar draws n of total as a bar of barWidth cells.
func bar(n, total int) string {
	filled := 0
	if total > 0 {
		filled = min(barWidth, n*barWidth/total)
	}
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "]"
}

// rate is the change from a to b per second over d.
func rate(a, b int64, d time.Duration) float64 {
	if d <= 0 || b < a {
		return 0
	}
	return float64(b-a) / d.Seconds()
}

// roundDuration writes d as people do: "2m30s", "1h5m".
func roundDuration(d time.Duration) string {
	if d >= time.Hour {
		d = d.Round(time.Minute)
	} else {
		d = d.Round(time.Second)
	}
	return workflows.Duration(d).String()
}

// oneLine keeps s on one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

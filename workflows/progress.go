package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/store"
)

// ConnectionProgress is ConnectionSync's answer to the progress query: the
// current cycle's figures (a running project's are in its own progress).
type ConnectionProgress struct {
	ConnectionID  string                `json:"connection_id"`
	OrgSlug       string                `json:"org_slug"`
	Cycle         int                   `json:"cycle"`
	Phase         string                `json:"phase"`
	Projects      ProjectCounts         `json:"projects"`
	Totals        activities.SyncCounts `json:"totals"`
	ResyncPending int                   `json:"resync_pending"`
	Continuous    bool                  `json:"continuous"`
	// NextCycleAt is when a waiting continuous sync starts its next cycle.
	NextCycleAt    time.Time     `json:"next_cycle_at,omitzero"`
	LastError      *ErrorNote    `json:"last_error,omitempty"`
	Previous       *CycleSummary `json:"previous,omitempty"`
	Runs           int           `json:"runs"`
	DroppedSignals int           `json:"dropped_signals,omitempty"`
	// Targets are the pipelines queued for a targeted sync; TargetCounts the
	// figures of those synced.
	Targets      int                   `json:"targets"`
	TargetCounts activities.SyncCounts `json:"target_counts"`
	// RunningProjects are the running projects' figures as they last
	// reported them (Totals include them).
	RunningProjects []RunningProject `json:"running_projects"`
	// LiveReportsPaused: the run's history has reached LiveReportsUpTo events,
	// so the running projects' figures move only when they change step.
	LiveReportsPaused bool `json:"live_reports_paused,omitempty"`
	// Users is the cycle's users step once done: referenced, already fresh, fetched.
	Users *activities.ResolveUsersResult `json:"users,omitempty"`
}

// RunningProject is a running project's phase and figures so far.
type RunningProject struct {
	ProjectSlug string                `json:"project_slug"`
	Phase       string                `json:"phase,omitempty"`
	Counts      activities.SyncCounts `json:"counts"`
}

// ProjectCounts counts a cycle's projects; Running are those being synced.
type ProjectCounts struct {
	Total     int      `json:"total"`
	Completed int      `json:"completed"`
	Failed    int      `json:"failed"`
	Running   []string `json:"running"`
}

// ProjectProgress is ProjectSync's answer to the progress query.
type ProjectProgress struct {
	ConnectionID string                `json:"connection_id"`
	ProjectSlug  string                `json:"project_slug"`
	Phase        string                `json:"phase"`
	Incremental  bool                  `json:"incremental"`
	Counts       activities.SyncCounts `json:"counts"`
	Restarts     int                   `json:"restarts"`
	LastError    *ErrorNote            `json:"last_error,omitempty"`
	Runs         int                   `json:"runs"`
}

// progress builds the progress query's answer.
func (r *connectionRun) progress(ctx workflow.Context) ConnectionProgress {
	st := r.st
	p := ConnectionProgress{LiveReportsPaused: workflow.GetInfo(ctx).GetCurrentHistoryLength() >= LiveReportsUpTo,
		ConnectionID: r.in.ConnectionID, OrgSlug: r.in.OrgSlug, Cycle: st.Cycle, Phase: st.Phase,
		ResyncPending: st.ResyncPending, Continuous: r.in.Continuous, NextCycleAt: st.NextCycleAt,
		LastError: st.LastError, Previous: st.Previous, Runs: st.Runs + 1, DroppedSignals: st.DroppedSignals,
		Totals: st.Totals, Targets: len(st.Targets), TargetCounts: st.TargetCounts}
	p.Projects = ProjectCounts{Total: st.Total, Completed: st.Completed, Failed: st.Failed,
		Running: slices.Clone(st.InFlight)}
	if p.Projects.Running == nil {
		p.Projects.Running = []string{}
	}
	p.Totals.Requests += st.Requests
	if st.Users != nil {
		p.Totals.Then(st.Users.Counts)
		u := *st.Users
		p.Users = &u
	}
	p.Totals.Then(r.live.counts)
	p.RunningProjects = []RunningProject{}
	for _, slug := range st.InFlight {
		rp := RunningProject{ProjectSlug: slug}
		if l, ok := r.projects[slug]; ok {
			rp.Phase, rp.Counts = l.phase, l.counts()
		}
		p.Totals.Add(rp.Counts)
		p.RunningProjects = append(p.RunningProjects, rp)
	}
	return p
}

// details is the Markdown the Web UI shows as the run's current details: a
// line, then one bullet a figure, as short as they can be, because the Web UI
// cuts the panel at the height of the summary and details beside it.
func (p ConnectionProgress) details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**Cycle %d** · phase **%s** · %d of %d projects done", p.Cycle, p.Phase,
		p.Projects.Completed+p.Projects.Failed, p.Projects.Total)
	if p.Projects.Failed > 0 {
		fmt.Fprintf(&b, " (%d failed)", p.Projects.Failed)
	}
	if n := len(p.Projects.Running); n > 0 {
		fmt.Fprintf(&b, ", %d running", n)
	}
	b.WriteString("\n")
	writeCounts(&b, p.Totals)
	writeUsers(&b, p.Users, p.Totals.Of(store.KindUser))
	writeRunning(&b, p.RunningProjects)
	if p.LiveReportsPaused && len(p.RunningProjects) > 0 {
		b.WriteString("\n- running projects' figures move at their steps only: the run's history is long (see its next run)")
	}
	writeLastError(&b, p.LastError)
	if p.ResyncPending > 0 {
		fmt.Fprintf(&b, "\n- re-sync requested: %d request(s) for cycle %d", p.ResyncPending, p.Cycle+1)
	}
	if p.Targets > 0 {
		fmt.Fprintf(&b, "\n- %d pipeline(s) queued for a targeted sync", p.Targets)
	}
	if !p.NextCycleAt.IsZero() && p.Phase == PhaseWaiting {
		fmt.Fprintf(&b, "\n- next cycle at %s (or on a resync request)", p.NextCycleAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// DetailsRunningProjects bounds the running projects the current details
// list (the Web UI cuts the panel); the progress query lists them all.
const DetailsRunningProjects = 6

// writeRunning lists the running projects, a bullet each, at most
// DetailsRunningProjects of them.
func writeRunning(b *strings.Builder, running []RunningProject) {
	for i, rp := range running {
		if i == DetailsRunningProjects {
			fmt.Fprintf(b, "\n- and %d more running (the progress query lists them all)", len(running)-i)
			break
		}
		fmt.Fprintf(b, "\n- running %s: %s, %s, %s", rp.ProjectSlug, rp.Phase,
			plural(rp.Counts.Of(store.KindPipeline), "pipeline", "pipelines"), plural(rp.Counts.Requests, "request", "requests"))
	}
}

// details is the Markdown the Web UI shows as the run's current details.
func (p ProjectProgress) details() string {
	var b strings.Builder
	kind := "first sync"
	if p.Incremental {
		kind = "incremental"
	}
	fmt.Fprintf(&b, "**%s** · phase **%s** · %s", p.ProjectSlug, p.Phase, kind)
	if p.Restarts > 0 {
		fmt.Fprintf(&b, " · paging restarted %d time(s)", p.Restarts)
	}
	b.WriteString("\n")
	writeCounts(&b, p.Counts)
	writeLastError(&b, p.LastError)
	return b.String()
}

// writeCounts writes the figures of c as bullets: what was written, then what
// it cost.
func writeCounts(b *strings.Builder, c activities.SyncCounts) {
	var parts []string
	for _, k := range activities.CountedKinds() {
		if n := c.Of(k.Name); k.Name != store.KindUser && (n != 0 || !k.OptIn) {
			parts = append(parts, plural(n, k.Name, k.Plural))
		}
	}
	fmt.Fprintf(b, "\n- %s written\n- %s of pipelines read · %s", strings.Join(parts, " · "),
		plural(c.Pages, "page", "pages"), plural(c.Requests, "request", "requests"))
	if c.ServerErrors > 0 {
		fmt.Fprintf(b, " · %d answered 5xx (retried)", c.ServerErrors)
	}
	if c.RateLimited > 0 || c.RateLimitHeldMS > 0 {
		fmt.Fprintf(b, "\n- held by the rate limit for %s (%d × 429)",
			Duration(time.Duration(c.RateLimitHeldMS)*time.Millisecond).Round(), c.RateLimited)
	}
	if c.Skipped > 0 {
		fmt.Fprintf(b, "\n- %d skipped (%d expired, %d kept failing, %d not found)", c.Skipped,
			c.SkippedBy.Expired, c.SkippedBy.ServerError, c.SkippedBy.NotFound)
	}
}

// writeUsers writes the users step: what it fetched and what was already
// fresh, or that it comes after the projects (users are not counted with them).
func writeUsers(b *strings.Builder, u *activities.ResolveUsersResult, fetched int64) {
	if u == nil {
		fmt.Fprintf(b, "\n- users: fetched after the projects (%d so far)", fetched)
		return
	}
	fmt.Fprintf(b, "\n- users: %d referenced · %d fetched · %d already fresh (not fetched again)",
		u.Referenced, fetched, u.Fresh)
}

// plural writes n with the singular or plural noun.
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// DetailsErrorRunes bounds the last error in the current details (the
// progress query has it whole): a long one would push the rest out of the Web
// UI's panel.
const DetailsErrorRunes = 150

// writeLastError writes the last error, if any, cut to DetailsErrorRunes.
func writeLastError(b *strings.Builder, e *ErrorNote) {
	if e == nil {
		return
	}
	msg := e.Error
	if r := []rune(msg); len(r) > DetailsErrorRunes {
		msg = string(r[:DetailsErrorRunes]) + "…"
	}
	fmt.Fprintf(b, "\n- last error (%s, %s): %s", e.Where, e.At.UTC().Format(time.RFC3339), msg)
}

// noteError records err, met while doing where, as the last error.
func noteError(ctx workflow.Context, last **ErrorNote, where string, err string) {
	if err == "" {
		return
	}
	*last = &ErrorNote{Where: where, Error: err, At: workflow.Now(ctx).UTC()}
}

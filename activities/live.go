package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
)

// LiveProgress is what a long activity reports to its workflow while it runs
// (workflows cannot read heartbeats), and what a project workflow passes on to
// its connection workflow. Counts only: never a token or page contents.
type LiveProgress struct {
	// Step names the activity run reported on (PagesStep, StepRefresh,
	// StepUsers); the workflow drops a report of a step no longer running.
	Step string `json:"step,omitempty"`
	// Project and Phase are set by a project workflow reporting to its parent.
	Project string     `json:"project,omitempty"`
	Phase   string     `json:"phase,omitempty"`
	Counts  SyncCounts `json:"counts"`
	// Batch, when set, holds several projects' reports the worker gathered
	// into one signal to their connection (the rest of the fields are unset).
	Batch []LiveProgress `json:"batch,omitempty"`
}

// The steps that report live progress besides the pages.
const (
	StepRefresh = "refresh"
	StepUsers   = "users"
	StepProject = "project" // SyncProject: its pages and refresh, after the plan
)

// liveScope makes the activities SyncProject runs report as its step, their
// counts added to those of the steps before (base).
type liveScope struct {
	step string
	base SyncCounts
}

type liveScopeKey struct{}

func withLiveScope(ctx context.Context, step string, base SyncCounts) context.Context {
	return context.WithValue(ctx, liveScopeKey{}, liveScope{step, base})
}

// PagesStep names the SyncPipelinePage run whose first page is first.
func PagesStep(first int) string { return fmt.Sprintf("pages from %d", first) }

// LiveTarget is the workflow run an activity reports to, and its connection.
type LiveTarget struct {
	WorkflowID, RunID, ConnectionID string
}

// ProgressReporter delivers p to the workflow run and, when p names a project
// and the run is that project's sync within its connection, to the connection
// workflow too: the project need not pass it on (the worker signals both).
type ProgressReporter func(ctx context.Context, to LiveTarget, p LiveProgress) error

// DefaultReportEvery is the default Activities.ReportEvery: below 10 s, so a
// workflow's figures are never more than 10 s behind the writes.
const DefaultReportEvery = 9 * time.Second

// reportEvery is ReportEvery or its default.
func (a *Activities) reportEvery() time.Duration {
	if a.ReportEvery > 0 {
		return a.ReportEvery
	}
	return DefaultReportEvery
}

// reportAs makes the run report its counts as step of project ("": the
// connection's own) to its workflow, at most once per ReportEvery slot, after
// writes (none when Activities.Report is nil).
func (r *activityRun) reportAs(ctx context.Context, step, project string) {
	if r.a.Report == nil || !activity.IsActivity(ctx) || r.counts == nil {
		return
	}
	we := activity.GetInfo(ctx).WorkflowExecution
	to := LiveTarget{WorkflowID: we.ID, RunID: we.RunID, ConnectionID: r.conn.ConnectionID}
	report, log := r.a.Report, r.log
	scope, scoped := ctx.Value(liveScopeKey{}).(liveScope)
	r.live = newLiveReporter(r.a.reportEvery(), func(p LiveProgress) {
		p.Step, p.Project = step, project
		if scoped {
			p.Step = scope.step
			c := scope.base
			c.Then(p.Counts)
			p.Counts = c
		}
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := report(sctx, to, p); err != nil {
			log.Warn("cannot report live progress to the workflow", "workflow_id", we.ID, "error", err)
		}
	})
	prev := r.stop
	r.stop = func() { r.live.stop(); prev() }
}

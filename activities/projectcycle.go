package activities

import (
	"context"
	"time"
)

// ProjectCycleInput is the input of SyncProject.
type ProjectCycleInput struct {
	Start StartProjectInput `json:"start"`
	// MaxPages bounds the pipeline pages read (SyncPipelinePage's MaxPages).
	MaxPages int `json:"max_pages"`
	// RerunWindow: an incremental sync polls the stored pipelines created this
	// long before its start again.
	RerunWindow Duration `json:"rerun_window,omitempty"`
}

// ProjectCycleResult says how far SyncProject went: the plan always, the
// first pages, then (paging done) the refresh, then (no repair due) the record.
type ProjectCycleResult struct {
	Plan ProjectPlan `json:"plan"`
	Page PageResult  `json:"page"`
	// Refreshed: paging ended and the open items were polled.
	Refreshed bool `json:"refreshed,omitempty"`
	// Completed: the watermark (Watermark) and the figures were stored.
	Completed bool      `json:"completed,omitempty"`
	Watermark time.Time `json:"watermark,omitzero"`
	// Counts are every step's figures, the plan's included.
	Counts SyncCounts `json:"counts"`
}

// SyncProject runs a project's sync in one activity, one round trip for the
// workflow: StartProject, SyncPipelinePage from the first page, and when that
// reaches the end, RefreshProject, then CompleteProject unless a repair pass is
// due (it runs before the record). A retry starts the project over (at most
// MaxPages pages read again; the writes are idempotent, the watermark is stored
// last); the steps the workflow runs after it resume mid-page from their heartbeats.
func (a *Activities) SyncProject(ctx context.Context, in ProjectCycleInput) (ProjectCycleResult, error) {
	var res ProjectCycleResult
	ctx = withoutResume(ctx)
	plan, err := a.StartProject(ctx, in.Start)
	if err != nil {
		return res, err
	}
	res.Plan = plan
	res.Counts = SyncCounts{Requests: plan.Requests, Written: plan.Written, Unchanged: plan.Unchanged}
	conn, slug := in.Start.Connection, in.Start.ProjectSlug
	res.Page, err = a.SyncPipelinePage(withLiveScope(ctx, StepProject, res.Counts), PageInput{Connection: conn, ProjectSlug: slug, PageNumber: 1,
		StopBefore: plan.StopBefore, MaxPages: in.MaxPages, Incremental: plan.Incremental})
	res.Counts.Then(res.Page.Counts)
	if err != nil || !res.Page.Done && res.Page.NextPageToken != "" {
		return res, err
	}
	refresh := RefreshInput{Connection: conn, ProjectSlug: slug, SyncedSince: plan.StopBefore}
	if in.RerunWindow > 0 && plan.Incremental {
		refresh.RerunWindowStart = plan.StartedAt.Add(-in.RerunWindow.D())
	}
	refreshed, err := a.RefreshProject(withLiveScope(ctx, StepProject, res.Counts), refresh)
	res.Counts.Then(refreshed)
	if err != nil {
		return res, err
	}
	res.Refreshed = true
	if plan.Repair.Due {
		return res, nil
	}
	watermark := plan.Watermark
	if res.Page.Newest.After(watermark) {
		watermark = res.Page.Newest
	}
	complete := CompleteProjectInput{Connection: conn, ProjectSlug: slug, Watermark: watermark, Counts: res.Counts}
	if in.Start.Repair && !plan.Incremental {
		complete.RepairedAt = plan.StartedAt
	}
	if err := a.CompleteProject(ctx, complete); err != nil {
		return res, err
	}
	res.Completed, res.Watermark = true, watermark
	return res, nil
}

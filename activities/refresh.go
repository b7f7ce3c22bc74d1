package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// RefreshProject polls again what paging did not reach but can still change: the
// project's open pipelines and workflows, the pipelines inside the rerun window,
// and pipelines skipped earlier for a server error.
//
// The pipelines polled are the union of the stored open pipelines
// (store.OpenItems) and the stored pipelines created at or after
// RerunWindowStart, less those created at or after SyncedSince (just paged; with
// a zero SyncedSince, all of them), plus the project's pipelines in the skipped
// ledger for "server_error". They are polled in bytewise id order, resuming after
// RefreshProgress.LastPipelineID. An open pipeline is read again (GET
// /pipeline/{id}); every polled pipeline has its workflows listed, and the jobs of
// a workflow are listed when it is new, not terminal in the store, or its status
// changed. Each completed prefix is written in one batch and heartbeated.
func (a *Activities) RefreshProject(ctx context.Context, in RefreshInput) (SyncCounts, error) {
	if err := a.checkStore(); err != nil {
		return SyncCounts{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return SyncCounts{}, err
	}
	conn, slug := in.Connection, in.ProjectSlug
	log := logger(ctx, conn)

	var progress RefreshProgress
	resumed := heartbeatDetails(ctx, &progress)

	ids, open, err := a.refreshTargets(ctx, in)
	if err != nil {
		return progress.Counts, err
	}
	start := 0
	if resumed && progress.LastPipelineID != "" {
		start, _ = slices.BinarySearch(ids, progress.LastPipelineID)
		if start < len(ids) && ids[start] == progress.LastPipelineID {
			start++
		}
	}
	if start >= len(ids) {
		log.Info("project refreshed", "project", slug, "pipelines", 0)
		return progress.Counts, nil
	}

	api, err := a.newAPI(ctx, conn)
	if err != nil {
		return progress.Counts, err
	}
	baseRequests := progress.Counts.Requests
	requests := func() int64 { return baseRequests + api.Requests() }
	hb, stopHeartbeats := newHeartbeater(ctx, progress)
	defer stopHeartbeats()
	f := a.fetcher(api, slug, hb)

	jobsFor := func(ctx context.Context, wfs []circleci.Workflow) ([]bool, error) {
		wfIDs := make([]string, len(wfs))
		for i, wf := range wfs {
			wfIDs[i] = wf.ID
		}
		stored, err := a.Store.WorkflowStatuses(ctx, wfIDs)
		if err != nil {
			return nil, fmt.Errorf("read stored workflow statuses of project %s: %w", slug, err)
		}
		want := make([]bool, len(wfs))
		for i, wf := range wfs {
			old, ok := stored[wf.ID]
			want[i] = !ok || !circleci.IsTerminalWorkflowStatus(old) || old != wf.Status
		}
		return want, nil
	}
	work := func(ctx context.Context, i int) (pipelineData, error) {
		id := ids[start+i]
		var d pipelineData
		if open[id] {
			p, err := retry(ctx, f, func(ctx context.Context) (circleci.Pipeline, error) { return api.pipeline(ctx, id) })
			if err != nil {
				if reason, status, msg, ok := skipReason(err); ok {
					d.skipped = append(d.skipped, store.Skipped{
						EntityRef:   store.EntityRef{Kind: store.KindPipeline, ID: id},
						ProjectSlug: slug, Reason: reason, HTTPStatus: status, Message: msg,
					})
					return d, nil
				}
				return d, fmt.Errorf("read pipeline %s: %w", id, err)
			}
			d.pipeline = &p
		}
		err := f.fetchWorkflows(ctx, &d, id, jobsFor)
		return d, err
	}
	commit := func(from int, ds []pipelineData) error {
		b := batchOf(ds)
		ws, err := a.Store.WriteBatch(ctx, b)
		if err != nil {
			return fmt.Errorf("write %d refreshed pipelines of project %s: %w", len(ds), slug, err)
		}
		addBatch(&progress.Counts, b, ws)
		// Pipelines counts the pipelines polled, read again or not.
		progress.Counts.Pipelines += int64(len(ds) - len(b.Pipelines))
		progress.LastPipelineID = ids[start+from+len(ds)-1]
		progress.Counts.Requests = requests()
		hb.record(progress)
		return nil
	}
	err = runOrdered(ctx, len(ids)-start, a.concurrency(), work, commit)
	progress.Counts.Requests = requests()
	if err != nil {
		log.Warn("project refresh failed", "project", slug, "last_pipeline_id", progress.LastPipelineID, "error", err)
		return progress.Counts, applicationError(ctx, err, "refresh project "+slug)
	}
	log.Info("project refreshed", "project", slug, "pipelines", len(ids)-start, "open", len(open),
		"requests", progress.Counts.Requests, "skipped", progress.Counts.Skipped)
	return progress.Counts, nil
}

// refreshTargets returns the ids of the pipelines RefreshProject polls, sorted
// bytewise, and which of them are open.
func (a *Activities) refreshTargets(ctx context.Context, in RefreshInput) ([]string, map[string]bool, error) {
	slug := in.ProjectSlug
	set := map[string]bool{}
	open := map[string]bool{}
	if !in.SyncedSince.IsZero() {
		items, err := a.Store.OpenItems(ctx, slug)
		if err != nil {
			return nil, nil, applicationError(ctx, err, "read the open pipelines of project "+slug)
		}
		for _, id := range items.PipelineIDs {
			set[id], open[id] = true, true
		}
		if !in.RerunWindowStart.IsZero() {
			recent, err := a.Store.PipelinesCreatedSince(ctx, slug, in.RerunWindowStart)
			if err != nil {
				return nil, nil, applicationError(ctx, err, "read the recent pipelines of project "+slug)
			}
			for _, id := range recent {
				set[id] = true
			}
		}
		synced, err := a.Store.PipelinesCreatedSince(ctx, slug, in.SyncedSince)
		if err != nil {
			return nil, nil, applicationError(ctx, err, "read the pipelines just synced of project "+slug)
		}
		for _, id := range synced {
			delete(set, id)
			delete(open, id)
		}
	}
	ledger, err := a.Store.Skipped(ctx)
	if err != nil {
		return nil, nil, applicationError(ctx, err, "read the skipped ledger")
	}
	for _, s := range ledger {
		if s.Kind == store.KindPipeline && s.ProjectSlug == slug && s.Reason == reasonServerError {
			set[s.ID] = true
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, open, nil
}

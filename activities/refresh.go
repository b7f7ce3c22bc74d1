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
// and the pipelines and workflows skipped earlier for a server error.
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
//
// Then the project's workflows in the skipped ledger for "server_error" (their
// job list kept answering 5xx) have their jobs listed directly, in bytewise id
// order, resuming after RefreshProgress.LastWorkflowID: such a workflow is stored,
// often terminal and unchanged, so polling its pipeline would not list its jobs
// again. Those whose jobs the pipelines' pass just listed (or tried) are left
// out. A job list that succeeds clears the workflow's ledger entry; one that
// still fails is recorded again (or as "expired" on a 404).
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
	// Heartbeats start before the store queries and the first request (which
	// may wait long for the limiter), re-sending the progress resumed from.
	hb, stopHeartbeats := newHeartbeater(ctx, progress)
	defer stopHeartbeats()

	targets, err := a.refreshTargets(ctx, in)
	if err != nil {
		return progress.Counts, err
	}
	ids, open := targets.pipelines, targets.open
	start, wfStart := 0, 0
	switch {
	case resumed && progress.LastWorkflowID != "":
		// The pipelines were all done: resume among the workflows.
		start = len(ids)
		wfStart = indexAfter(targets.workflows, progress.LastWorkflowID)
	case resumed && progress.LastPipelineID != "":
		start = indexAfter(ids, progress.LastPipelineID)
	}
	if start >= len(ids) && wfStart >= len(targets.workflows) {
		log.Info("project refreshed", "project", slug, "pipelines", 0, "workflows", 0)
		return progress.Counts, nil
	}

	api, err := a.newAPI(ctx, conn)
	if err != nil {
		return progress.Counts, err
	}
	base := progress.Counts
	f := a.fetcher(api, slug, hb)

	jobsFor := a.changedWorkflows(slug)
	// triedJobs are the workflows whose jobs the pipelines' pass listed (or
	// recorded as skipped): the workflows' pass leaves them out. Only commit,
	// called on this goroutine, writes it.
	triedJobs := map[string]bool{}
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
		ws, err := a.write(ctx, b)
		if err != nil {
			return fmt.Errorf("write %d refreshed pipelines of project %s: %w", len(ds), slug, err)
		}
		progress.Counts.addBatch(b, ws)
		for _, r := range b.Resolved {
			if r.Kind == store.KindWorkflow {
				triedJobs[r.ID] = true
			}
		}
		for _, s := range b.Skipped {
			if s.Kind == store.KindWorkflow {
				triedJobs[s.ID] = true
			}
		}
		// Pipelines counts the pipelines polled, read again or not.
		progress.Counts.AddEntities(store.KindPipeline, int64(len(ds)-len(b.Pipelines)))
		progress.LastPipelineID = ids[start+from+len(ds)-1]
		api.fillRequests(&progress.Counts, base)
		hb.record(progress)
		return nil
	}
	if start < len(ids) {
		if err := runOrdered(ctx, len(ids)-start, a.concurrency(), work, commit); err != nil {
			api.fillRequests(&progress.Counts, base)
			log.Warn("project refresh failed", "project", slug, "last_pipeline_id", progress.LastPipelineID, "error", err)
			return progress.Counts, applicationError(ctx, err, "refresh project "+slug)
		}
	}

	// The workflows whose job list was skipped for a server error.
	var wfIDs []string
	for _, id := range targets.workflows[wfStart:] {
		if !triedJobs[id] {
			wfIDs = append(wfIDs, id)
		}
	}
	wfWork := func(ctx context.Context, i int) (pipelineData, error) {
		id := wfIDs[i]
		var d pipelineData
		jobs, skipped, err := f.listJobs(ctx, id)
		switch {
		case err != nil:
			return d, fmt.Errorf("list jobs of workflow %s: %w", id, err)
		case skipped != nil:
			d.skipped = append(d.skipped, *skipped)
		default:
			d.jobs = jobs
			d.resolved = append(d.resolved, store.EntityRef{Kind: store.KindWorkflow, ID: id})
		}
		return d, nil
	}
	wfCommit := func(from int, ds []pipelineData) error {
		b := batchOf(ds)
		ws, err := a.write(ctx, b)
		if err != nil {
			return fmt.Errorf("write the jobs of %d skipped workflows of project %s: %w", len(ds), slug, err)
		}
		progress.Counts.addBatch(b, ws)
		progress.LastWorkflowID = wfIDs[from+len(ds)-1]
		api.fillRequests(&progress.Counts, base)
		hb.record(progress)
		return nil
	}
	if err := runOrdered(ctx, len(wfIDs), a.concurrency(), wfWork, wfCommit); err != nil {
		api.fillRequests(&progress.Counts, base)
		log.Warn("project refresh failed", "project", slug, "last_workflow_id", progress.LastWorkflowID, "error", err)
		return progress.Counts, applicationError(ctx, err, "refresh project "+slug)
	}
	api.fillRequests(&progress.Counts, base)
	log.Info("project refreshed", "project", slug, "pipelines", len(ids)-start, "open", len(open),
		"workflows", len(wfIDs), "requests", progress.Counts.Requests, "skipped", progress.Counts.Skipped)
	return progress.Counts, nil
}

// indexAfter is the index in the sorted ids of the first id after last.
func indexAfter(ids []string, last string) int {
	i, found := slices.BinarySearch(ids, last)
	if found {
		i++
	}
	return i
}

// refreshPlan is what RefreshProject polls.
type refreshPlan struct {
	// pipelines are the ids of the pipelines polled, sorted bytewise; open says
	// which of them are open (read again).
	pipelines []string
	open      map[string]bool
	// workflows are the ids of the project's workflows in the skipped ledger for
	// "server_error", sorted bytewise: their jobs are listed again.
	workflows []string
}

// refreshTargets returns what RefreshProject polls.
func (a *Activities) refreshTargets(ctx context.Context, in RefreshInput) (refreshPlan, error) {
	slug := in.ProjectSlug
	set := map[string]bool{}
	open := map[string]bool{}
	if !in.SyncedSince.IsZero() {
		items, err := a.Store.OpenItems(ctx, slug)
		if err != nil {
			return refreshPlan{}, applicationError(ctx, err, "read the open pipelines of project "+slug)
		}
		for _, id := range items.PipelineIDs {
			set[id], open[id] = true, true
		}
		if !in.RerunWindowStart.IsZero() {
			recent, err := a.Store.PipelinesCreatedSince(ctx, slug, in.RerunWindowStart)
			if err != nil {
				return refreshPlan{}, applicationError(ctx, err, "read the recent pipelines of project "+slug)
			}
			for _, id := range recent {
				set[id] = true
			}
		}
		synced, err := a.Store.PipelinesCreatedSince(ctx, slug, in.SyncedSince)
		if err != nil {
			return refreshPlan{}, applicationError(ctx, err, "read the pipelines just synced of project "+slug)
		}
		for _, id := range synced {
			delete(set, id)
			delete(open, id)
		}
	}
	ledger, err := a.Store.Skipped(ctx)
	if err != nil {
		return refreshPlan{}, applicationError(ctx, err, "read the skipped ledger")
	}
	var workflows []string
	for _, s := range ledger {
		if s.ProjectSlug != slug || s.Reason != reasonServerError {
			continue
		}
		switch s.Kind {
		case store.KindPipeline:
			set[s.ID] = true
		case store.KindWorkflow:
			workflows = append(workflows, s.ID)
		}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	slices.Sort(workflows)
	return refreshPlan{pipelines: ids, open: open, workflows: slices.Compact(workflows)}, nil
}

// jobSelector says which of a pipeline's workflows to list the jobs of.
type jobSelector func(ctx context.Context, wfs []circleci.Workflow) ([]bool, error)

// changedWorkflows selects the workflows of project slug whose jobs can have
// changed since they were stored: new ones, those not terminal in the store,
// and those whose status changed. A terminal workflow's jobs are final.
func (a *Activities) changedWorkflows(slug string) jobSelector {
	return func(ctx context.Context, wfs []circleci.Workflow) ([]bool, error) {
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
}

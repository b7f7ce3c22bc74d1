package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/circleci-sync/circleci-sync/store"
)

// RefreshProject (the poll's registered name) polls again what paging did not
// reach but can still change: open pipelines, those in the rerun window and
// those skipped for a server error, then the workflows skipped for one. Each
// ready prefix is written and heartbeated (RefreshProgress) for a retry.
func (a *Activities) RefreshProject(ctx context.Context, in RefreshInput) (SyncCounts, error) {
	if err := a.checkStore(); err != nil {
		return SyncCounts{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return SyncCounts{}, err
	}
	slug := in.ProjectSlug
	p := &poll{slug: slug, tried: map[string]bool{}}
	resumed := heartbeatDetails(ctx, &p.progress)
	p.activityRun = a.startRun(ctx, in.Connection, &p.progress.Counts, func() any { return p.progress })
	p.reportAs(ctx, StepRefresh, in.ProjectSlug)
	defer p.stop()

	targets, err := a.pollTargets(ctx, in)
	if err != nil {
		return p.progress.Counts, err
	}
	start, wfStart := 0, 0
	switch {
	case resumed && p.progress.LastWorkflowID != "":
		// The pipelines were all done: resume among the workflows.
		start = len(targets.pipelines)
		wfStart = indexAfter(targets.workflows, p.progress.LastWorkflowID)
	case resumed && p.progress.LastPipelineID != "":
		start = indexAfter(targets.pipelines, p.progress.LastPipelineID)
	}
	if start >= len(targets.pipelines) && wfStart >= len(targets.workflows) {
		p.log.Info("project refreshed", "project", slug, "pipelines", 0, "workflows", 0)
		return p.progress.Counts, nil
	}
	if err := p.connect(ctx); err != nil {
		return p.progress.Counts, err
	}
	p.jobsFor = a.changedWorkflows(slug)
	if err := p.pipelines(ctx, targets.pipelines[start:], targets.open); err != nil {
		p.fill()
		p.log.Warn("project refresh failed", "project", slug, "last_pipeline_id", p.progress.LastPipelineID, "error", err)
		return p.progress.Counts, applicationError(ctx, err, "refresh project "+slug)
	}
	// The skipped workflows the pipelines' pass did not list (or try).
	var wfIDs []string
	for _, id := range targets.workflows[wfStart:] {
		if !p.tried[id] {
			wfIDs = append(wfIDs, id)
		}
	}
	if err := p.workflows(ctx, wfIDs); err != nil {
		p.fill()
		p.log.Warn("project refresh failed", "project", slug, "last_workflow_id", p.progress.LastWorkflowID, "error", err)
		return p.progress.Counts, applicationError(ctx, err, "refresh project "+slug)
	}
	p.fill()
	p.log.Info("project refreshed", "project", slug, "pipelines", len(targets.pipelines)-start, "open", len(targets.open),
		"workflows", len(wfIDs), "requests", p.progress.Counts.Requests, "skipped", p.progress.Counts.Skipped)
	return p.progress.Counts, nil
}

// poll is one run of RefreshProject.
type poll struct {
	*activityRun
	slug     string
	progress RefreshProgress
	jobsFor  jobSelector
	// tried are the workflows whose jobs the pipelines' pass listed or skipped.
	tried map[string]bool
}

// pipelines polls the pipelines ids (those of open read again).
func (p *poll) pipelines(ctx context.Context, ids []string, open map[string]bool) error {
	work := func(ctx context.Context, i int) (pipelineData, error) {
		id := ids[i]
		var d pipelineData
		if open[id] {
			pl, err := p.api.pipeline(ctx, id)
			if err != nil {
				if s := skipped(store.KindPipeline, id, p.slug, err); s != nil {
					d.skipped = append(d.skipped, *s)
					return d, nil
				}
				return d, fmt.Errorf("read pipeline %s: %w", id, err)
			}
			d.pipeline = &pl
		}
		err := p.api.fetchWorkflows(ctx, &d, p.slug, id, p.jobsFor)
		return d, err
	}
	commit := func(from int, ds []pipelineData) error {
		b := batchOf(ds)
		err := p.commit(ctx, b, func() {
			for _, r := range b.Resolved {
				if r.Kind == store.KindWorkflow {
					p.tried[r.ID] = true
				}
			}
			for _, s := range b.Skipped {
				if s.Kind == store.KindWorkflow {
					p.tried[s.ID] = true
				}
			}
			// Pipelines counts the pipelines polled, read again or not.
			p.progress.Counts.AddEntities(store.KindPipeline, int64(len(ds)-len(b.Pipelines)))
			p.progress.LastPipelineID = ids[from+len(ds)-1]
		})
		if err != nil {
			return fmt.Errorf("write %d refreshed pipelines of project %s: %w", len(ds), p.slug, err)
		}
		return nil
	}
	return runOrdered(ctx, len(ids), p.a.concurrency(), work, commit)
}

// workflows lists the jobs of the workflows ids again.
func (p *poll) workflows(ctx context.Context, ids []string) error {
	work := func(ctx context.Context, i int) (pipelineData, error) {
		id := ids[i]
		var d pipelineData
		jobs, skipped, err := p.api.listJobs(ctx, p.slug, id)
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
	commit := func(from int, ds []pipelineData) error {
		err := p.commit(ctx, batchOf(ds), func() { p.progress.LastWorkflowID = ids[from+len(ds)-1] })
		if err != nil {
			return fmt.Errorf("write the jobs of %d skipped workflows of project %s: %w", len(ds), p.slug, err)
		}
		return nil
	}
	return runOrdered(ctx, len(ids), p.a.concurrency(), work, commit)
}

// indexAfter is the index in the sorted ids of the first id after last.
func indexAfter(ids []string, last string) int {
	i, found := slices.BinarySearch(ids, last)
	if found {
		i++
	}
	return i
}

// pollPlan is what RefreshProject polls.
type pollPlan struct {
	// pipelines are the ids polled, sorted; open says which are read again.
	pipelines []string
	open      map[string]bool
	// workflows are skipped for a server error, sorted: their jobs are listed again.
	workflows []string
}

// pollTargets returns what RefreshProject polls.
func (a *Activities) pollTargets(ctx context.Context, in RefreshInput) (pollPlan, error) {
	slug := in.ProjectSlug
	set := map[string]bool{}
	open := map[string]bool{}
	if !in.SyncedSince.IsZero() {
		items, err := a.Store.OpenItems(ctx, slug)
		if err != nil {
			return pollPlan{}, applicationError(ctx, err, "read the open pipelines of project "+slug)
		}
		for _, id := range items.PipelineIDs {
			set[id], open[id] = true, true
		}
		if !in.RerunWindowStart.IsZero() {
			recent, err := a.Store.PipelinesCreatedSince(ctx, slug, in.RerunWindowStart)
			if err != nil {
				return pollPlan{}, applicationError(ctx, err, "read the recent pipelines of project "+slug)
			}
			for _, id := range recent {
				set[id] = true
			}
		}
		synced, err := a.Store.PipelinesCreatedSince(ctx, slug, in.SyncedSince)
		if err != nil {
			return pollPlan{}, applicationError(ctx, err, "read the pipelines just synced of project "+slug)
		}
		for _, id := range synced {
			delete(set, id)
			delete(open, id)
		}
	}
	ledger, err := a.Store.Skipped(ctx)
	if err != nil {
		return pollPlan{}, applicationError(ctx, err, "read the skipped ledger")
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
	return pollPlan{pipelines: ids, open: open, workflows: slices.Compact(workflows)}, nil
}

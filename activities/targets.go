package activities

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/store"
)

// MaxTargets bounds the pipelines of one SyncPipelines run.
const MaxTargets = 100

// PipelineTarget is a pipeline to sync again; WorkflowIDs, when known (a rerun,
// an event), are the workflows that changed.
type PipelineTarget struct {
	ProjectSlug string   `json:"project_slug"`
	PipelineID  string   `json:"pipeline_id"`
	WorkflowIDs []string `json:"workflow_ids,omitempty"`
}

// PipelinesInput is the input of SyncPipelines.
type PipelinesInput struct {
	Connection Connection       `json:"connection"`
	Targets    []PipelineTarget `json:"targets"`
}

// PipelinesProgress is SyncPipelines' heartbeat detail: the sorted targets done.
type PipelinesProgress struct {
	Done   int        `json:"done"`
	Counts SyncCounts `json:"counts"`
}

// SyncPipelines syncs the targets' pipelines, workflows and jobs through the
// paging's write path, moving no watermark. A stored, final pipeline with known
// workflows costs a GET of each workflow and its job lists; any other, a GET of
// the pipeline, its workflow list and the job lists of changed workflows.
func (a *Activities) SyncPipelines(ctx context.Context, in PipelinesInput) (SyncCounts, error) {
	if err := a.checkStore(); err != nil {
		return SyncCounts{}, err
	}
	targets, err := checkTargets(in.Connection, in.Targets)
	if err != nil {
		return SyncCounts{}, err
	}
	var p PipelinesProgress
	heartbeatDetails(ctx, &p)
	r := a.startRun(ctx, in.Connection, &p.Counts, func() any { return p })
	defer r.stop()
	if err := r.connect(ctx); err != nil {
		return p.Counts, err
	}
	start := min(max(p.Done, 0), len(targets))
	err = r.syncTargets(ctx, targets[start:], nil, func(n int) { p.Done = start + n })
	r.fill()
	if err != nil {
		return p.Counts, applicationError(ctx, err, fmt.Sprintf("sync %d pipelines", len(targets)-start))
	}
	r.log.Info("pipelines synced", "targets", len(targets), "requests", p.Counts.Requests, "skipped", p.Counts.Skipped)
	return p.Counts, nil
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkTargets refuses a bad batch (ErrInvalidInput) and returns the targets
// sorted by project and pipeline, duplicates merged.
func checkTargets(conn Connection, ts []PipelineTarget) ([]PipelineTarget, error) {
	if len(ts) == 0 || len(ts) > MaxTargets {
		return nil, nonRetryable(fmt.Sprintf("%d pipeline targets: want 1 to %d", len(ts), MaxTargets), ErrInvalidInput)
	}
	for i, t := range ts {
		bad := checkSlug(t.ProjectSlug) != nil || !webhooks.InOrg(conn.OrgSlug, t.ProjectSlug) || !uuidPattern.MatchString(t.PipelineID)
		for _, id := range t.WorkflowIDs {
			bad = bad || !uuidPattern.MatchString(id)
		}
		if bad {
			return nil, nonRetryable(fmt.Sprintf("pipeline target %d: want a project of organisation %s and UUID ids",
				i, conn.OrgSlug), ErrInvalidInput)
		}
	}
	return mergeTargets(ts), nil
}

// mergeTargets sorts targets by project (canonical slug) and pipeline, merging duplicates.
func mergeTargets(ts []PipelineTarget) []PipelineTarget {
	out := slices.Clone(ts)
	key := func(t PipelineTarget) string {
		return webhooks.CanonicalSlug(t.ProjectSlug) + " " + strings.ToLower(t.PipelineID)
	}
	slices.SortFunc(out, func(a, b PipelineTarget) int { return cmp.Compare(key(a), key(b)) })
	merged := out[:0]
	for _, t := range out {
		t.WorkflowIDs = slices.Clone(t.WorkflowIDs)
		if n := len(merged); n > 0 && key(merged[n-1]) == key(t) {
			merged[n-1].WorkflowIDs = append(merged[n-1].WorkflowIDs, t.WorkflowIDs...)
			continue
		}
		merged = append(merged, t)
	}
	for i := range merged {
		slices.Sort(merged[i].WorkflowIDs)
		merged[i].WorkflowIDs = slices.Compact(merged[i].WorkflowIDs)
	}
	return merged
}

// syncTargets syncs ts in order and commits each ready run of them; done is told
// how many are written. prefetched holds workflows already read, by id.
func (r *activityRun) syncTargets(ctx context.Context, ts []PipelineTarget, prefetched map[string]circleci.Workflow,
	done func(n int),
) error {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.PipelineID
	}
	states, err := r.a.Store.PipelineStates(ctx, ids)
	if err != nil {
		return err
	}
	work := func(ctx context.Context, i int) (pipelineData, error) {
		t := ts[i]
		if st, ok := states[t.PipelineID]; ok && circleci.IsFinalPipelineState(st) && len(t.WorkflowIDs) > 0 {
			return r.knownWorkflows(ctx, t, prefetched)
		}
		return r.wholePipeline(ctx, t)
	}
	commit := func(from int, ds []pipelineData) error {
		return r.commit(ctx, batchOf(ds), func() { done(from + len(ds)) })
	}
	return runOrdered(ctx, len(ts), r.a.concurrency(), work, commit)
}

// knownWorkflows reads the target's workflows (unless prefetched) and the jobs
// of those that changed. A workflow not of the target's pipeline is refused.
func (r *activityRun) knownWorkflows(ctx context.Context, t PipelineTarget, prefetched map[string]circleci.Workflow) (pipelineData, error) {
	var d pipelineData
	var wfs []circleci.Workflow
	for _, id := range t.WorkflowIDs {
		wf, ok := prefetched[id]
		if !ok {
			var err error
			if wf, err = r.api.workflow(ctx, id); err != nil {
				if s := workflowNotFound(id, t.ProjectSlug, err); s != nil {
					d.skipped = append(d.skipped, *s)
					continue
				}
				return d, fmt.Errorf("read workflow %s: %w", id, err)
			}
		}
		if wf.PipelineID != t.PipelineID || webhooks.CanonicalSlug(wf.ProjectSlug) != webhooks.CanonicalSlug(t.ProjectSlug) {
			r.log.Warn("workflow refused: not of the target's pipeline", "workflow_id", id, "pipeline_id", t.PipelineID)
			continue
		}
		wfs = append(wfs, wf)
	}
	d.workflows = wfs
	err := r.api.addJobs(ctx, &d, t.ProjectSlug, t.PipelineID, wfs, r.a.changedWorkflows(t.ProjectSlug))
	return d, err
}

// wholePipeline reads the target's pipeline, its workflows and the jobs of those
// that changed. A pipeline that answers 404 or 5xx goes to the ledger; one of
// another project is refused.
func (r *activityRun) wholePipeline(ctx context.Context, t PipelineTarget) (pipelineData, error) {
	var d pipelineData
	pl, err := r.api.pipeline(ctx, t.PipelineID)
	if err != nil {
		if s := skipped(store.KindPipeline, t.PipelineID, t.ProjectSlug, err); s != nil {
			d.skipped = append(d.skipped, *s)
			return d, nil
		}
		return d, fmt.Errorf("read pipeline %s: %w", t.PipelineID, err)
	}
	if webhooks.CanonicalSlug(pl.ProjectSlug) != webhooks.CanonicalSlug(t.ProjectSlug) {
		r.log.Warn("pipeline refused: not of the target's project", "pipeline_id", t.PipelineID)
		return d, nil
	}
	d.pipeline = &pl
	err = r.api.fetchWorkflows(ctx, &d, t.ProjectSlug, t.PipelineID, r.a.changedWorkflows(t.ProjectSlug))
	return d, err
}

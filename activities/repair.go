package activities

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/store"
)

// Repair pass bounds (docs/design.md, "Repair pass").
const (
	// RepairMargin is read again before the last pass's start: Insights shows a run
	// up to 24 h after it stops, and filters on its created_at, so the margin
	// covers the lag and runs of up to 24 h.
	RepairMargin = 48 * time.Hour
	// InsightsHorizon is how far back Insights keeps runs.
	InsightsHorizon = 90 * 24 * time.Hour
	// NamesFreshFor: Insights' workflow names read this recently are not read again.
	NamesFreshFor = 24 * time.Hour
)

// RepairInput is the input of RepairProject.
type RepairInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// From: runs created since are read.
	From time.Time `json:"from,omitzero"`
	// ReadNames: Insights' workflow names are read (else the stored ones are used).
	ReadNames bool `json:"read_names,omitempty"`
}

// RepairResult is the result of RepairProject.
type RepairResult struct {
	Counts SyncCounts `json:"counts"`
	// RunLists counts the run-list requests, Runs the runs listed, Unknown
	// those not stored, MissingNames the names answering 404 (renamed).
	RunLists     int64     `json:"run_lists"`
	Runs         int64     `json:"runs"`
	Unknown      int64     `json:"unknown"`
	MissingNames int64     `json:"missing_names,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
}

// RepairProgress is RepairProject's heartbeat detail: a retry resumes after LastName.
type RepairProgress struct {
	Result   RepairResult `json:"result"`
	LastName string       `json:"last_name,omitempty"`
}

// RepairProject finds the project's runs Insights lists since From that are not
// stored (reruns on pipelines paging no longer reaches), reads each one's workflow
// for its pipeline and syncs those pipelines (SyncPipelines' path). It then stores
// when it started and the names it read. A name answering 404 is skipped; a run
// whose workflow answers 404 goes to the ledger and is not asked again.
func (a *Activities) RepairProject(ctx context.Context, in RepairInput) (RepairResult, error) {
	if err := a.checkStore(); err != nil {
		return RepairResult{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return RepairResult{}, err
	}
	rp := &repair{in: in, slug: in.ProjectSlug}
	if !heartbeatDetails(ctx, &rp.progress) || rp.progress.Result.StartedAt.IsZero() {
		rp.progress = RepairProgress{Result: RepairResult{StartedAt: time.Now().UTC()}}
	}
	res := &rp.progress.Result
	rp.activityRun = a.startRun(ctx, in.Connection, &res.Counts, func() any { return rp.progress })
	defer rp.stop()
	if err := rp.connect(ctx); err != nil {
		return *res, err
	}
	err := rp.run(ctx)
	rp.fill()
	if err != nil {
		rp.log.Warn("repair failed", "project", rp.slug, "last_name", rp.progress.LastName, "error", err)
		return *res, applicationError(ctx, err, "repair project "+rp.slug)
	}
	rp.log.Info("project repaired", "project", rp.slug, "from", in.From, "run_lists", res.RunLists, "runs", res.Runs,
		"unknown", res.Unknown, "requests", res.Counts.Requests)
	return *res, nil
}

// repair is one run of RepairProject.
type repair struct {
	*activityRun
	in       RepairInput
	slug     string
	progress RepairProgress
	namesAt  time.Time // when Insights' names were read, zero if not
	insights []string
	ledger   map[string]bool // the ledger's workflow ids, read once
}

// run reads the names, then each name's runs, then saves the state.
func (rp *repair) run(ctx context.Context) error {
	names, err := rp.names(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if rp.progress.LastName != "" && name <= rp.progress.LastName {
			continue
		}
		if err := rp.name(ctx, name); err != nil {
			return err
		}
		rp.progress.LastName = name
		rp.checkpoint()
	}
	return rp.save(ctx)
}

// names returns the stored names of the last 90 days and Insights' (read
// when ReadNames, else as stored), sorted.
func (rp *repair) names(ctx context.Context) ([]string, error) {
	st, err := rp.a.Store.ProjectState(ctx, rp.conn.ConnectionID, rp.slug)
	if err != nil {
		return nil, err
	}
	rp.insights = st.InsightsNames
	if rp.in.ReadNames {
		if rp.insights, err = rp.api.insightsNames(ctx, rp.slug); err != nil {
			return nil, fmt.Errorf("list the workflow names of Insights: %w", err)
		}
		rp.namesAt = time.Now().UTC()
	}
	stored, err := rp.a.Store.WorkflowNames(ctx, rp.slug, time.Now().Add(-InsightsHorizon))
	if err != nil {
		return nil, err
	}
	names := append(slices.Clone(stored), rp.insights...)
	slices.Sort(names)
	return slices.Compact(names), nil
}

// name lists the runs of one workflow name and syncs the pipelines of those not stored.
func (rp *repair) name(ctx context.Context, name string) error {
	res := &rp.progress.Result
	runs, pages, err := rp.api.workflowRuns(ctx, rp.slug, name, rp.in.From)
	res.RunLists += int64(pages)
	if err != nil {
		if ce, ok := circleci.AsError(err); ok && ce.NotFoundKind() == circleci.NotFoundWorkflowName {
			res.MissingNames++
			return nil
		}
		return fmt.Errorf("list the runs of workflow %q: %w", name, err)
	}
	res.Runs += int64(len(runs))
	unknown, err := rp.unknown(ctx, runs)
	if err != nil || len(unknown) == 0 {
		return err
	}
	res.Unknown += int64(len(unknown))
	targets, prefetched, skipped, err := rp.resolve(ctx, unknown)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		if err := rp.commit(ctx, store.Batch{Skipped: skipped}, nil); err != nil {
			return err
		}
		for _, s := range skipped {
			rp.ledger[s.ID] = true
		}
	}
	for chunk := range slices.Chunk(targets, MaxTargets) {
		if err := rp.syncTargets(ctx, chunk, prefetched, func(int) {}); err != nil {
			return err
		}
	}
	return nil
}

// unknown returns the ids of runs neither stored nor in the project's ledger.
func (rp *repair) unknown(ctx context.Context, runs []circleci.WorkflowRun) ([]string, error) {
	ids := make([]string, 0, len(runs))
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	stored, err := rp.a.Store.WorkflowStatuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	if rp.ledger == nil {
		ledger, err := rp.a.Store.Skipped(ctx)
		if err != nil {
			return nil, err
		}
		rp.ledger = map[string]bool{}
		for _, s := range ledger {
			if s.Kind == store.KindWorkflow {
				rp.ledger[s.ID] = true
			}
		}
	}
	var out []string
	for _, id := range ids {
		if _, ok := stored[id]; !ok && !rp.ledger[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// resolve reads the workflows ids concurrently: their pipelines become targets;
// those answering 404 become ledger entries.
func (rp *repair) resolve(ctx context.Context, ids []string) ([]PipelineTarget, map[string]circleci.Workflow, []store.Skipped, error) {
	wfs := make([]circleci.Workflow, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { wfs[i], errs[i] = rp.api.workflow(ctx, id) })
	}
	wg.Wait()
	prefetched := map[string]circleci.Workflow{}
	var targets []PipelineTarget
	var skipped []store.Skipped
	for i, id := range ids {
		if err := errs[i]; err != nil {
			if s := workflowNotFound(id, rp.slug, err); s != nil {
				skipped = append(skipped, *s)
				continue
			}
			return nil, nil, nil, fmt.Errorf("read workflow %s: %w", id, err)
		}
		wf := wfs[i]
		if webhooks.CanonicalSlug(wf.ProjectSlug) != webhooks.CanonicalSlug(rp.slug) || !uuidPattern.MatchString(wf.PipelineID) {
			rp.log.Warn("run refused: not a workflow of the project", "workflow_id", id)
			continue
		}
		prefetched[id] = wf
		targets = append(targets, PipelineTarget{ProjectSlug: rp.slug, PipelineID: wf.PipelineID, WorkflowIDs: []string{id}})
	}
	return mergeTargets(targets), prefetched, skipped, nil
}

// workflowNotFound is the ledger entry of a workflow whose GET answered 404, else nil.
func workflowNotFound(id, slug string, err error) *store.Skipped {
	if s := skipped(store.KindWorkflow, id, slug, err); s != nil && s.Reason == reasonNotFound {
		return s
	}
	return nil
}

// save stores when the pass started and, when read, Insights' names.
func (rp *repair) save(ctx context.Context) error {
	st, err := rp.a.Store.ProjectState(ctx, rp.conn.ConnectionID, rp.slug)
	if err != nil {
		return err
	}
	st.ConnectionID, st.ProjectSlug = rp.conn.ConnectionID, rp.slug
	if started := rp.progress.Result.StartedAt; started.After(st.RepairedAt) {
		st.RepairedAt = started
	}
	if !rp.namesAt.IsZero() {
		st.InsightsNames, st.InsightsNamesAt = rp.insights, rp.namesAt
		if st.InsightsNames == nil {
			st.InsightsNames = []string{}
		}
	}
	return rp.a.Store.SaveProjectState(ctx, st)
}

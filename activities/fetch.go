package activities

import (
	"context"
	"fmt"
	"net/http"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
	"golang.org/x/sync/errgroup"
)

// Skipped-ledger reasons (store.Skipped.Reason).
const (
	reasonExpired     = "expired"
	reasonServerError = "server_error"
	reasonNotFound    = "not_found"
)

// pipelineData is what fetching one pipeline gives: the rows to write and the
// ledger changes.
type pipelineData struct {
	pipeline  *circleci.Pipeline // nil: no pipeline row to write
	workflows []circleci.Workflow
	jobs      []circleci.Job
	skipped   []store.Skipped
	resolved  []store.EntityRef
}

// batchOf gathers pipelines' data into one store batch.
func batchOf(ds []pipelineData) store.Batch {
	var b store.Batch
	for _, d := range ds {
		if d.pipeline != nil {
			b.Pipelines = append(b.Pipelines, *d.pipeline)
		}
		b.Workflows = append(b.Workflows, d.workflows...)
		b.Jobs = append(b.Jobs, d.jobs...)
		b.Skipped = append(b.Skipped, d.skipped...)
		b.Resolved = append(b.Resolved, d.resolved...)
	}
	return b
}

// skipped returns the ledger entry of an entity whose fetch failed with err,
// or nil when err is not a per-entity failure (404 expired or missing, 5xx
// after the retries).
func skipped(kind, id, slug string, err error) *store.Skipped {
	ce, ok := circleci.AsError(err)
	if !ok {
		return nil
	}
	s := &store.Skipped{EntityRef: store.EntityRef{Kind: kind, ID: id}, ProjectSlug: slug,
		HTTPStatus: ce.StatusCode, Message: ce.Message}
	switch {
	case ce.Class == circleci.ClassNotFound && ce.NotFoundKind() == circleci.NotFoundExpired:
		s.Reason = reasonExpired
	case ce.Class == circleci.ClassNotFound && ce.NotFoundKind() == circleci.NotFoundEntity:
		s.Reason = reasonNotFound
	case ce.Class == circleci.ClassServer:
		s.Reason = reasonServerError
		if s.HTTPStatus == 0 {
			s.HTTPStatus = http.StatusInternalServerError
		}
	default:
		return nil
	}
	return s
}

// jobSelector says which of a pipeline's workflows to list the jobs of.
type jobSelector func(ctx context.Context, wfs []circleci.Workflow) ([]bool, error)

// changedWorkflows selects the workflows of project slug whose jobs can have
// changed since stored: new ones, those not terminal in the store, and those
// whose status changed (a terminal workflow's jobs are final).
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

// fetchWorkflows adds to d the workflows of pipeline pipelineID of project
// slug and the jobs of those jobsFor selects (all when nil). A list that
// answers 404 (expired) or keeps answering 5xx goes to the skipped ledger; a
// list that succeeds clears its entity from it. Other errors are returned.
func (c *client) fetchWorkflows(ctx context.Context, d *pipelineData, slug, pipelineID string, jobsFor jobSelector) error {
	wfs, err := c.allWorkflows(ctx, pipelineID)
	if err != nil {
		if s := skipped(store.KindPipeline, pipelineID, slug, err); s != nil {
			d.skipped = append(d.skipped, *s)
			return nil
		}
		return fmt.Errorf("list workflows of pipeline %s: %w", pipelineID, err)
	}
	d.resolved = append(d.resolved, store.EntityRef{Kind: store.KindPipeline, ID: pipelineID})
	d.workflows = append(d.workflows, wfs...)

	return c.addJobs(ctx, d, slug, pipelineID, wfs, jobsFor)
}

// addJobs adds to d the jobs of the workflows wfs that jobsFor selects (all
// when nil), or their ledger entries.
func (c *client) addJobs(ctx context.Context, d *pipelineData, slug, pipelineID string, wfs []circleci.Workflow,
	jobsFor jobSelector,
) error {
	want := make([]bool, len(wfs))
	var err error
	if jobsFor == nil {
		for i := range want {
			want[i] = true
		}
	} else if want, err = jobsFor(ctx, wfs); err != nil {
		return err
	}
	results, err := c.jobsOf(ctx, slug, pipelineID, wfs, want)
	if err != nil {
		return err
	}
	for i, r := range results {
		switch {
		case !want[i]:
		case r.skipped != nil:
			d.skipped = append(d.skipped, *r.skipped)
		default:
			d.jobs = append(d.jobs, r.jobs...)
			d.resolved = append(d.resolved, store.EntityRef{Kind: store.KindWorkflow, ID: wfs[i].ID})
		}
	}
	return nil
}

// jobList is a workflow's jobs, or its ledger entry.
type jobList struct {
	jobs    []circleci.Job
	skipped *store.Skipped
}

// jobsOf lists the jobs of the wanted workflows concurrently; the first
// failure cancels the others.
func (c *client) jobsOf(ctx context.Context, slug, pipelineID string, wfs []circleci.Workflow, want []bool) ([]jobList, error) {
	results := make([]jobList, len(wfs))
	g, ctx := errgroup.WithContext(ctx)
	for i, wf := range wfs {
		if !want[i] {
			continue
		}
		g.Go(func() error {
			jobs, skipped, err := c.listJobs(ctx, slug, wf.ID)
			if err != nil {
				return fmt.Errorf("list jobs of workflow %s (pipeline %s): %w", wf.ID, pipelineID, err)
			}
			results[i] = jobList{jobs, skipped}
			return nil
		})
	}
	return results, g.Wait()
}

// listJobs lists the jobs of workflow workflowID, or gives its ledger entry
// when the list answers 404 (expired) or keeps answering 5xx.
func (c *client) listJobs(ctx context.Context, slug, workflowID string) ([]circleci.Job, *store.Skipped, error) {
	jobs, err := c.allJobs(ctx, workflowID)
	if err == nil {
		return jobs, nil, nil
	}
	if s := skipped(store.KindWorkflow, workflowID, slug, err); s != nil {
		return nil, s, nil
	}
	return nil, nil, err
}

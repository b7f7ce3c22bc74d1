package activities

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// defaultServerRetryDelays are the waits between the in-activity tries of a
// request answered 5xx (three tries in all): a pipeline whose workflow list keeps
// failing is recorded in the skipped ledger rather than failing the page.
var defaultServerRetryDelays = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}

// Skipped-ledger reasons (store.Skipped.Reason).
const (
	reasonExpired     = "expired"
	reasonServerError = "server_error"
	reasonNotFound    = "not_found"
)

// fetcher fetches the workflows and jobs of pipelines for one activity run.
type fetcher struct {
	api  *api
	slug string
	// delays are the waits between tries of a list whose page token CircleCI
	// answered 404.
	delays []time.Duration
	hb     *heartbeater
}

// retry calls call, again after each of f.delays while it fails with a stale
// page token (the list is listed again from its first page), heartbeating while
// it waits. A 5xx or a 429 is tried again by the api, request by request.
func retry[T any](ctx context.Context, f *fetcher, call func(ctx context.Context) (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := call(ctx)
		if err == nil || i >= len(f.delays) || !retriableInActivity(err) {
			return v, err
		}
		f.hb.beat()
		if err := sleep(ctx, f.delays[i]); err != nil {
			return v, err
		}
	}
}

// retriableInActivity reports errors worth listing a list again inside the
// activity: a page token CircleCI answered 404.
func retriableInActivity(err error) bool {
	ce, ok := circleci.AsError(err)
	return ok && ce.NotFoundKind() == circleci.NotFoundPageToken
}

// pipelineData is what fetching one pipeline gives: the rows to write and the
// ledger changes.
type pipelineData struct {
	// pipeline is the pipeline row to write, nil for none.
	pipeline  *circleci.Pipeline
	workflows []circleci.Workflow
	jobs      []circleci.Job
	skipped   []store.Skipped
	resolved  []store.EntityRef
}

// skipReason says whether err is a per-entity failure to record in the ledger
// (404 expired or missing, 5xx after retries), and how.
func skipReason(err error) (reason string, status int, msg string, ok bool) {
	ce, isCE := circleci.AsError(err)
	if !isCE {
		return "", 0, "", false
	}
	switch {
	case ce.Class == circleci.ClassNotFound && ce.NotFoundKind() == circleci.NotFoundExpired:
		return reasonExpired, ce.StatusCode, ce.Message, true
	case ce.Class == circleci.ClassNotFound && ce.NotFoundKind() == circleci.NotFoundEntity:
		return reasonNotFound, ce.StatusCode, ce.Message, true
	case ce.Class == circleci.ClassServer:
		status := ce.StatusCode
		if status == 0 {
			status = http.StatusInternalServerError
		}
		return reasonServerError, status, ce.Message, true
	}
	return "", 0, "", false
}

// fetchWorkflows lists every workflow of the pipeline pipelineID and, for those
// jobsFor selects (all when jobsFor is nil), every job, adding them to d. A
// pipeline whose workflow list answers 404 (expired) or keeps answering 5xx is
// recorded as skipped; so is a workflow whose job list does. Entities listed
// successfully are added to d.resolved, clearing earlier ledger entries. Other
// errors (429, transport, decode, auth) are returned, naming the entity.
func (f *fetcher) fetchWorkflows(ctx context.Context, d *pipelineData, pipelineID string, jobsFor jobSelector) error {
	wfs, err := retry(ctx, f, func(ctx context.Context) ([]circleci.Workflow, error) {
		return f.api.allWorkflows(ctx, pipelineID)
	})
	if err != nil {
		if reason, status, msg, ok := skipReason(err); ok {
			d.skipped = append(d.skipped, store.Skipped{
				EntityRef:   store.EntityRef{Kind: store.KindPipeline, ID: pipelineID},
				ProjectSlug: f.slug, Reason: reason, HTTPStatus: status, Message: msg,
			})
			return nil
		}
		return fmt.Errorf("list workflows of pipeline %s: %w", pipelineID, err)
	}
	d.resolved = append(d.resolved, store.EntityRef{Kind: store.KindPipeline, ID: pipelineID})
	d.workflows = append(d.workflows, wfs...)

	want := make([]bool, len(wfs))
	if jobsFor == nil {
		for i := range want {
			want[i] = true
		}
	} else if want, err = jobsFor(ctx, wfs); err != nil {
		return err
	}

	type wfResult struct {
		jobs    []circleci.Job
		skipped *store.Skipped
	}
	results := make([]wfResult, len(wfs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for i, wf := range wfs {
		if !want[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			jobs, skipped, err := f.listJobs(ctx, wf.ID)
			if err != nil {
				// The first failure cancels the others, whose errors are then moot.
				errOnce.Do(func() {
					firstErr = fmt.Errorf("list jobs of workflow %s (pipeline %s): %w", wf.ID, pipelineID, err)
					cancel()
				})
				return
			}
			results[i].jobs, results[i].skipped = jobs, skipped
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for i, r := range results {
		if !want[i] {
			continue
		}
		if r.skipped != nil {
			d.skipped = append(d.skipped, *r.skipped)
			continue
		}
		d.jobs = append(d.jobs, r.jobs...)
		d.resolved = append(d.resolved, store.EntityRef{Kind: store.KindWorkflow, ID: wfs[i].ID})
	}
	return nil
}

// listJobs lists every job of the workflow workflowID, trying again after a 5xx
// (f.delays). A job list that answers 404 (expired) or keeps answering 5xx gives
// the workflow's ledger entry instead; other errors are returned as they are.
func (f *fetcher) listJobs(ctx context.Context, workflowID string) ([]circleci.Job, *store.Skipped, error) {
	jobs, err := retry(ctx, f, func(ctx context.Context) ([]circleci.Job, error) {
		return f.api.allJobs(ctx, workflowID)
	})
	if err == nil {
		return jobs, nil, nil
	}
	if reason, status, msg, ok := skipReason(err); ok {
		return nil, &store.Skipped{
			EntityRef:   store.EntityRef{Kind: store.KindWorkflow, ID: workflowID},
			ProjectSlug: f.slug, Reason: reason, HTTPStatus: status, Message: msg,
		}, nil
	}
	return nil, nil, err
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

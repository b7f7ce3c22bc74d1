package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// baselineSync is the benchmark's yardstick for the Temporal sync: the same
// CircleCI client (circleci.New, a limiter of the same options) and the same
// store, driven by a plain Go loop without Temporal, verification or
// discovery. Every project runs at once (the worker runs all of the
// benchmark's: 4 + 3 + 3 projects in three connections of at most 4); in each,
// the project is read and written, then its pipeline pages one after the other,
// as a page activity does them: pageConcurrency pipelines of a page at once,
// each listing its workflows and then their job lists in parallel, at most
// pageConcurrency requests in flight per project, the next page's list read
// ahead, and one WriteBatch per page, on a goroutine of its own so that the
// next page is fetched while one is written. Then the
// users the workflows and jobs reference, pageConcurrency at once, in one
// batch. It makes exactly the fake's MinimumRequests when nothing fails.
func baselineSync(ctx context.Context, baseURL, token string, lim circleci.LimiterOptions, pageConcurrency int,
	st store.Store, projects []string) error {
	c, err := circleci.New(circleci.Options{BaseURL: baseURL, Token: token, Limiter: circleci.NewLimiter(lim),
		UserAgent: "circleci-sync-bench-baseline"})
	if err != nil {
		return fmt.Errorf("baseline client: %w", err)
	}
	var mu sync.Mutex
	users := map[string]bool{}
	addUsers := func(ids ...*string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range ids {
			if id != nil && *id != "" {
				users[*id] = true
			}
		}
	}
	errs := make([]error, len(projects))
	var wg sync.WaitGroup
	for i, slug := range projects {
		wg.Go(func() { errs[i] = baselineProject(ctx, c, st, slug, pageConcurrency, addUsers) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	fetched := make([]circleci.User, len(ids))
	uerrs := make([]error, len(ids))
	slots := make(chan struct{}, max(1, pageConcurrency))
	for i, id := range ids {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			fetched[i], uerrs[i] = c.User(ctx, id)
		})
	}
	wg.Wait()
	for i, err := range uerrs {
		if err != nil {
			return fmt.Errorf("baseline: user %s: %w", ids[i], err)
		}
	}
	if _, err := st.WriteBatch(ctx, store.Batch{Users: fetched}); err != nil {
		return fmt.Errorf("baseline: write %d users: %w", len(fetched), err)
	}
	return nil
}

// baselineProject syncs one project for baselineSync.
func baselineProject(ctx context.Context, c *circleci.Client, st store.Store, slug string, pageConcurrency int,
	addUsers func(ids ...*string)) error {
	pageConcurrency = max(1, pageConcurrency)
	r := &baselineRun{ctx: ctx, c: c, slug: slug, pageConcurrency: pageConcurrency, addUsers: addUsers,
		inFlight: make(chan struct{}, pageConcurrency)}
	var p circleci.Project
	if err := r.call(func() (err error) { p, err = c.Project(ctx, slug); return err }); err != nil {
		return fmt.Errorf("baseline: project %s: %w", slug, err)
	}
	if _, err := st.WriteBatch(ctx, store.Batch{Projects: []circleci.Project{p}}); err != nil {
		return fmt.Errorf("baseline: write project %s: %w", slug, err)
	}
	// The writes on a goroutine of their own (as the worker writes while it
	// fetches): page n is written while page n+1 is fetched.
	writes := make(chan store.Batch)
	written := make(chan error, 1)
	go func() {
		var err error
		for b := range writes {
			if err == nil {
				if _, err = st.WriteBatch(ctx, b); err != nil {
					err = fmt.Errorf("baseline: write a page of %s: %w", slug, err)
				}
			}
		}
		written <- err
	}()
	err := r.pages(writes)
	if werr := <-written; err == nil {
		err = werr
	}
	return err
}

// baselineRun is one project's run of baselineProject: its requests go
// through call, at most pageConcurrency in flight.
type baselineRun struct {
	ctx             context.Context
	c               *circleci.Client
	slug            string
	pageConcurrency int
	addUsers        func(ids ...*string)
	inFlight        chan struct{} // the project's requests in flight
}

// call makes one request of the project, waiting for room in flight.
func (r *baselineRun) call(f func() error) error {
	r.inFlight <- struct{}{}
	defer func() { <-r.inFlight }()
	return f()
}

// allWorkflows lists every workflow of pipeline id.
func (r *baselineRun) allWorkflows(id string) ([]circleci.Workflow, error) {
	var out []circleci.Workflow
	for tok := ""; ; {
		var page circleci.Page[circleci.Workflow]
		if err := r.call(func() (err error) { page, err = r.c.PipelineWorkflowsPage(r.ctx, id, tok); return err }); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if tok = page.NextPageToken; tok == "" {
			return out, nil
		}
	}
}

// allJobs lists every job of workflow id.
func (r *baselineRun) allJobs(id string) ([]circleci.Job, error) {
	var out []circleci.Job
	for tok := ""; ; {
		var page circleci.Page[circleci.Job]
		if err := r.call(func() (err error) { page, err = r.c.WorkflowJobsPage(r.ctx, id, tok); return err }); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if tok = page.NextPageToken; tok == "" {
			return out, nil
		}
	}
}

// fetchPipeline lists a pipeline's workflows, then their jobs in parallel.
func (r *baselineRun) fetchPipeline(id string) ([]circleci.Workflow, []circleci.Job, error) {
	wfs, err := r.allWorkflows(id)
	if err != nil {
		return nil, nil, fmt.Errorf("workflows of pipeline %s: %w", id, err)
	}
	jobs := make([][]circleci.Job, len(wfs))
	errs := make([]error, len(wfs))
	var wg sync.WaitGroup
	for i, wf := range wfs {
		r.addUsers(wf.StartedBy, wf.CanceledBy, wf.ErroredBy)
		wg.Go(func() { jobs[i], errs[i] = r.allJobs(wf.ID) })
	}
	wg.Wait()
	var all []circleci.Job
	for i := range wfs {
		if errs[i] != nil {
			return nil, nil, fmt.Errorf("jobs of workflow %s: %w", wfs[i].ID, errs[i])
		}
		for _, j := range jobs[i] {
			r.addUsers(j.ApprovedBy, j.CanceledBy)
		}
		all = append(all, jobs[i]...)
	}
	return wfs, all, nil
}

// listedPage is a page of the project's pipelines, or the error reading it.
type listedPage struct {
	page circleci.Page[circleci.Pipeline]
	err  error
}

// list reads the page of pipelines at tok in the background.
func (r *baselineRun) list(tok string) <-chan listedPage {
	ch := make(chan listedPage, 1)
	go func() {
		var l listedPage
		l.err = r.call(func() (err error) { l.page, err = r.c.ProjectPipelinesPage(r.ctx, r.slug, "", tok); return err })
		ch <- l
	}()
	return ch
}

// pages sends one batch per page of pipelines to writes, and closes it. The
// page list is read one ahead (as the worker's prefetch).
func (r *baselineRun) pages(writes chan<- store.Batch) error {
	defer close(writes)
	next := r.list("")
	for next != nil {
		l := <-next
		if l.err != nil {
			return fmt.Errorf("baseline: pipelines of %s: %w", r.slug, l.err)
		}
		next = nil
		if l.page.NextPageToken != "" {
			next = r.list(l.page.NextPageToken)
		}
		b, err := r.fetchPage(l.page.Items)
		if err != nil {
			if next != nil {
				<-next
			}
			return fmt.Errorf("baseline: project %s: %w", r.slug, err)
		}
		writes <- b
	}
	return nil
}

// fetchPage reads the workflows and jobs of a page's pipelines,
// pageConcurrency pipelines at once, into the page's batch.
func (r *baselineRun) fetchPage(items []circleci.Pipeline) (store.Batch, error) {
	type fetched struct {
		wfs  []circleci.Workflow
		jobs []circleci.Job
		err  error
	}
	results := make([]fetched, len(items))
	window := make(chan struct{}, r.pageConcurrency)
	var wg sync.WaitGroup
	for i, p := range items {
		window <- struct{}{}
		wg.Go(func() {
			defer func() { <-window }()
			f := &results[i]
			f.wfs, f.jobs, f.err = r.fetchPipeline(p.ID)
		})
	}
	wg.Wait()
	b := store.Batch{Pipelines: items}
	for _, f := range results {
		if f.err != nil {
			return store.Batch{}, f.err
		}
		b.Workflows = append(b.Workflows, f.wfs...)
		b.Jobs = append(b.Jobs, f.jobs...)
	}
	return b, nil
}

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
	inFlight := make(chan struct{}, pageConcurrency) // the project's requests in flight
	call := func(f func() error) error {
		inFlight <- struct{}{}
		defer func() { <-inFlight }()
		return f()
	}
	var p circleci.Project
	if err := call(func() (err error) { p, err = c.Project(ctx, slug); return err }); err != nil {
		return fmt.Errorf("baseline: project %s: %w", slug, err)
	}
	if _, err := st.WriteBatch(ctx, store.Batch{Projects: []circleci.Project{p}}); err != nil {
		return fmt.Errorf("baseline: write project %s: %w", slug, err)
	}
	allWorkflows := func(id string) ([]circleci.Workflow, error) {
		var out []circleci.Workflow
		for tok := ""; ; {
			var page circleci.Page[circleci.Workflow]
			if err := call(func() (err error) { page, err = c.PipelineWorkflowsPage(ctx, id, tok); return err }); err != nil {
				return nil, err
			}
			out = append(out, page.Items...)
			if tok = page.NextPageToken; tok == "" {
				return out, nil
			}
		}
	}
	allJobs := func(id string) ([]circleci.Job, error) {
		var out []circleci.Job
		for tok := ""; ; {
			var page circleci.Page[circleci.Job]
			if err := call(func() (err error) { page, err = c.WorkflowJobsPage(ctx, id, tok); return err }); err != nil {
				return nil, err
			}
			out = append(out, page.Items...)
			if tok = page.NextPageToken; tok == "" {
				return out, nil
			}
		}
	}
	// fetchPipeline lists a pipeline's workflows, then their jobs in parallel.
	fetchPipeline := func(id string) ([]circleci.Workflow, []circleci.Job, error) {
		wfs, err := allWorkflows(id)
		if err != nil {
			return nil, nil, fmt.Errorf("workflows of pipeline %s: %w", id, err)
		}
		jobs := make([][]circleci.Job, len(wfs))
		errs := make([]error, len(wfs))
		var wg sync.WaitGroup
		for i, wf := range wfs {
			addUsers(wf.StartedBy, wf.CanceledBy, wf.ErroredBy)
			wg.Go(func() { jobs[i], errs[i] = allJobs(wf.ID) })
		}
		wg.Wait()
		var all []circleci.Job
		for i := range wfs {
			if errs[i] != nil {
				return nil, nil, fmt.Errorf("jobs of workflow %s: %w", wfs[i].ID, errs[i])
			}
			for _, j := range jobs[i] {
				addUsers(j.ApprovedBy, j.CanceledBy)
			}
			all = append(all, jobs[i]...)
		}
		return wfs, all, nil
	}

	// The page list one ahead (as the worker's prefetch), and the writes on a
	// goroutine of their own (as the worker writes while it fetches): page n
	// is written while page n+1 is fetched.
	type listed struct {
		page circleci.Page[circleci.Pipeline]
		err  error
	}
	list := func(tok string) <-chan listed {
		ch := make(chan listed, 1)
		go func() {
			var l listed
			l.err = call(func() (err error) { l.page, err = c.ProjectPipelinesPage(ctx, slug, "", tok); return err })
			ch <- l
		}()
		return ch
	}
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
	err := func() error {
		defer close(writes)
		next := list("")
		for next != nil {
			l := <-next
			if l.err != nil {
				return fmt.Errorf("baseline: pipelines of %s: %w", slug, l.err)
			}
			next = nil
			if l.page.NextPageToken != "" {
				next = list(l.page.NextPageToken)
			}
			type fetched struct {
				wfs  []circleci.Workflow
				jobs []circleci.Job
				err  error
			}
			results := make([]fetched, len(l.page.Items))
			window := make(chan struct{}, pageConcurrency)
			var wg sync.WaitGroup
			for i, p := range l.page.Items {
				window <- struct{}{}
				wg.Go(func() {
					defer func() { <-window }()
					r := &results[i]
					r.wfs, r.jobs, r.err = fetchPipeline(p.ID)
				})
			}
			wg.Wait()
			b := store.Batch{Pipelines: l.page.Items}
			for _, r := range results {
				if r.err != nil {
					if next != nil {
						<-next
					}
					return fmt.Errorf("baseline: project %s: %w", slug, r.err)
				}
				b.Workflows = append(b.Workflows, r.wfs...)
				b.Jobs = append(b.Jobs, r.jobs...)
			}
			writes <- b
		}
		return nil
	}()
	if werr := <-written; err == nil {
		err = werr
	}
	return err
}

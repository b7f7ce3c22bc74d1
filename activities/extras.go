package activities

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
	"golang.org/x/sync/errgroup"
)

// DefaultExtrasJobs is how many jobs one SyncJobExtras call reads at most.
const DefaultExtrasJobs = 500

// extrasBatch is how many pending jobs are read from the store, and fetched
// concurrently, at a time.
const extrasBatch = 50

// extrasFlushRows is how many rows the run gathers before it writes them in one
// transaction (and at the end of each batch of jobs): memory stays bounded, and
// the store writes thousands of rows a transaction, not a page's 20.
const extrasFlushRows = 1000

// reasonBadResponse is the ledger reason of a job whose details or tests CircleCI
// answered with something unreadable (not JSON, over the body limit, a page token
// loop): asking again would get the same.
const reasonBadResponse = "bad_response"

// SyncJobExtras reads the details and tests (as in.Extras asks) of the project's
// terminal build jobs that have none stored yet, each job once: the store's rows
// and ledgers say which are done, so no later sync reads them again. Test pages are
// written one by one (memory stays flat for any number of results). A job that
// answers 404, keeps answering 5xx or answers garbage goes to the skipped ledger.
func (a *Activities) SyncJobExtras(ctx context.Context, in JobExtrasInput) (JobExtrasResult, error) {
	if err := a.checkStore(); err != nil {
		return JobExtrasResult{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return JobExtrasResult{}, err
	}
	x := &extras{in: in, slug: in.ProjectSlug}
	if in.Extras.TestsJobs != "" {
		re, err := regexp.Compile(in.Extras.TestsJobs)
		if err != nil {
			return JobExtrasResult{}, nonRetryable("tests_jobs is not a valid regular expression", ErrInvalidInput)
		}
		x.testsJobs = re
	}
	x.res.After = in.After
	heartbeatDetails(ctx, &x.res)
	// The snapshot copies the counts' map: the keep-alive encodes it while jobs commit.
	x.activityRun = a.startRun(ctx, in.Connection, &x.res.Counts, func() any {
		r := x.res
		r.Counts.Entities = maps.Clone(r.Counts.Entities)
		return r
	})
	defer x.stop()
	err := x.run(ctx)
	x.fill()
	if err != nil {
		x.log.Warn("job extras failed", "project", x.slug, "after", x.res.After, "error", err)
		return x.res, applicationError(ctx, err, "read job details and tests of project "+x.slug)
	}
	x.log.Info("job extras read", "project", x.slug, "after", x.res.After, "done", x.res.Done,
		"details", x.res.Counts.Of(store.KindJobDetails), "tests", x.res.Counts.Of(store.KindTestResult),
		"requests", x.res.Counts.Requests, "skipped", x.res.Counts.Skipped)
	return x.res, nil
}

// extras is one run of SyncJobExtras.
type extras struct {
	*activityRun
	in        JobExtrasInput
	slug      string
	testsJobs *regexp.Regexp
	res       JobExtrasResult
	mu        sync.Mutex // guards buf and serialises commits (the counts)
	buf       store.Batch
}

// run reads pending jobs batch by batch until none is left or MaxJobs are done.
func (x *extras) run(ctx context.Context) error {
	budget := x.in.MaxJobs
	if budget <= 0 {
		budget = DefaultExtrasJobs
	}
	for budget > 0 {
		jobs, err := x.a.Store.PendingJobs(ctx, x.slug, x.res.After, min(extrasBatch, budget),
			x.in.Extras.Details, x.in.Extras.Tests, x.a.extrasRetry(time.Now()))
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			x.res.Done = true
			return nil
		}
		if x.api == nil {
			if err := x.connect(ctx); err != nil {
				return err
			}
		}
		if err := x.batch(ctx, jobs); err != nil {
			return err
		}
		if err := x.flush(ctx); err != nil {
			return err
		}
		x.res.After = jobs[len(jobs)-1].Number
		x.checkpoint()
		budget -= len(jobs)
	}
	return nil
}

// batch reads the jobs concurrently (the client bounds the requests in flight);
// the first failure cancels the others.
func (x *extras) batch(ctx context.Context, jobs []store.PendingJob) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		g.Go(func() error {
			if err := x.job(ctx, j); err != nil {
				return fmt.Errorf("job %d: %w", j.Number, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// job reads one job's pending extras.
func (x *extras) job(ctx context.Context, j store.PendingJob) error {
	if j.Details {
		if err := x.details(ctx, j); err != nil {
			return err
		}
	}
	if j.Tests && (x.testsJobs == nil || x.testsJobs.MatchString(j.Name)) {
		return x.tests(ctx, j)
	}
	return nil
}

// commit adds b to the rows gathered, written when they reach extrasFlushRows. A
// job's ledger entry is added after its rows, so it is never written before them.
func (x *extras) commit(ctx context.Context, b store.Batch) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.buf.JobDetails = append(x.buf.JobDetails, b.JobDetails...)
	x.buf.TestResults = append(x.buf.TestResults, b.TestResults...)
	x.buf.JobTests = append(x.buf.JobTests, b.JobTests...)
	x.buf.Skipped = append(x.buf.Skipped, b.Skipped...)
	x.buf.Resolved = append(x.buf.Resolved, b.Resolved...)
	if len(x.buf.JobDetails)+len(x.buf.TestResults)+len(x.buf.JobTests)+len(x.buf.Skipped) < extrasFlushRows {
		return nil
	}
	return x.flushLocked(ctx)
}

// flush writes the rows gathered.
func (x *extras) flush(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.flushLocked(ctx)
}

// flushLocked writes the rows gathered in one transaction; x.mu is held.
func (x *extras) flushLocked(ctx context.Context) error {
	b := x.buf
	x.buf = store.Batch{}
	if len(b.JobDetails)+len(b.TestResults)+len(b.JobTests)+len(b.Skipped)+len(b.Resolved) == 0 {
		return nil
	}
	return x.activityRun.commit(ctx, b, nil)
}

// details reads and writes one job's details, or its ledger entry.
func (x *extras) details(ctx context.Context, j store.PendingJob) error {
	d, err := do(ctx, x.api, func(ctx context.Context) (circleci.JobDetails, error) {
		return x.api.c.JobDetails(ctx, x.slug, j.Number)
	})
	if err != nil {
		s := extrasSkipped(store.KindJobDetails, x.slug, j.Number, err)
		if s == nil {
			return err
		}
		return x.commit(ctx, store.Batch{Skipped: []store.Skipped{*s}})
	}
	d.ProjectSlug, d.JobID = x.slug, j.ID
	return x.commit(ctx, store.Batch{JobDetails: []circleci.JobDetails{d},
		Resolved: resolvedExtras(j, store.KindJobDetails, x.slug)})
}

// Skipped job extras are read again (SkipRetry), for a server error only: the
// other reasons (not found, expired, a bad answer) do not go away.
const (
	DefaultExtrasRetryAfter = 6 * time.Hour
	ExtrasRetryFor          = 7 * 24 * time.Hour
)

// extrasRetry is the SkipRetry of an extras run at now.
func (a *Activities) extrasRetry(now time.Time) store.SkipRetry {
	after := a.ExtrasRetryAfter
	if after == 0 {
		after = DefaultExtrasRetryAfter
	}
	return store.SkipRetry{Reason: reasonServerError, Before: now.Add(-after), Since: now.Add(-ExtrasRetryFor)}
}

// resolvedExtras takes job j's ledger entry of kind off the skipped ledger
// when it was read again (a no-op write otherwise, so only then).
func resolvedExtras(j store.PendingJob, kind, slug string) []store.EntityRef {
	if !j.Retried {
		return nil
	}
	return []store.EntityRef{{Kind: kind, ID: store.JobRef(slug, j.Number)}}
}

// extrasSkipped is skipped's entry for a job's extras, with garbage answers
// (ClassDecode, ClassPagination) recorded too.
func extrasSkipped(kind, slug string, number int64, err error) *store.Skipped {
	id := store.JobRef(slug, number)
	if s := skipped(kind, id, slug, err); s != nil {
		return s
	}
	ce, ok := circleci.AsError(err)
	if !ok || (ce.Class != circleci.ClassDecode && ce.Class != circleci.ClassPagination) {
		return nil
	}
	return &store.Skipped{EntityRef: store.EntityRef{Kind: kind, ID: id}, ProjectSlug: slug,
		Reason: reasonBadResponse, HTTPStatus: ce.StatusCode, Message: ce.Message}
}

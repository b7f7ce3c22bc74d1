package activities

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// PageActivityBudget bounds how long a SyncPipelinePage run starts new pages,
// so the workflow records progress that often. A variable for tests.
var PageActivityBudget = 2 * time.Minute

// SyncPipelinePage syncs the project's pipelines, with their workflows and
// jobs, from the page PageToken on, up to MaxPages pages or StopBefore. Each
// ready prefix of a page is written in one transaction, then heartbeated
// (PageProgress) for a retry to resume from. A page token CircleCI no longer
// accepts is a non-retryable ErrStalePageToken.
func (a *Activities) SyncPipelinePage(ctx context.Context, in PageInput) (PageResult, error) {
	if err := a.checkStore(); err != nil {
		return PageResult{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return PageResult{}, err
	}
	s := &pageSync{in: in, slug: in.ProjectSlug, progress: PageProgress{PageToken: in.PageToken, PageNumber: in.PageNumber}}
	var resumed PageProgress
	// An earlier attempt's details name the page it was on; those of the
	// one-page activity of earlier versions name no page number.
	s.resumed = heartbeatDetails(ctx, &resumed) && (resumed.PageNumber > 0 || resumed.PageToken == in.PageToken)
	if s.resumed {
		s.progress = resumed
		if s.progress.PageNumber == 0 {
			s.progress.PageNumber = in.PageNumber
		}
	}
	s.res = PageResult{LastError: s.progress.LastError, Attempt: attempt(ctx)}
	s.activityRun = a.startRun(ctx, in.Connection, &s.progress.Counts, func() any { return s.progress })
	s.reportAs(ctx, PagesStep(in.PageNumber), in.ProjectSlug)
	defer s.stop()
	if err := s.connect(ctx); err != nil {
		return PageResult{}, err
	}
	if in.Incremental {
		s.jobsFor = a.changedWorkflows(s.slug)
	}
	return s.pages(ctx)
}

// pageSync is one run of SyncPipelinePage.
type pageSync struct {
	*activityRun
	in       PageInput
	slug     string
	resumed  bool
	progress PageProgress
	res      PageResult
	jobsFor  jobSelector
}

// pages syncs page after page until the last, MaxPages or the budget.
func (s *pageSync) pages(ctx context.Context) (PageResult, error) {
	maxPages := max(s.in.MaxPages, 1)
	if s.a.MaxPagesPerActivity > 0 {
		maxPages = min(maxPages, s.a.MaxPagesPerActivity)
	}
	deadline := time.Now().Add(PageActivityBudget)
	if s.progress.Lowest == 0 {
		s.progress.Lowest = s.in.Below
	}
	seen := map[string]bool{s.in.PageToken: true, s.progress.PageToken: true}
	pages := newPagePrefetcher(ctx, s.api, s.slug)
	defer pages.stop()
	for n := 0; ; n++ {
		page, err := s.read(ctx, pages, seen)
		if err != nil {
			return s.fail(err)
		}
		last, more, err := s.syncPage(ctx, page, n == 0 && s.resumed, func(last bool) bool {
			more := !last && n+1 < maxPages && time.Now().Before(deadline)
			if more {
				pages.prefetch(page.NextPageToken)
			}
			return more
		})
		if err != nil {
			return s.fail(err)
		}
		seen[page.NextPageToken] = true
		if last {
			s.res.Done = true
			break
		}
		// The page is done: checkpoint the next one, which a retry starts from.
		p := s.progress
		s.progress = PageProgress{PageToken: page.NextPageToken, PageNumber: p.PageNumber + 1, Newest: p.Newest,
			Lowest: p.Lowest, Counts: p.Counts, LastError: p.LastError}
		s.hb.record(s.progress)
		if !more {
			s.res.NextPageToken = page.NextPageToken
			break
		}
	}
	s.res.Newest, s.res.Counts, s.res.Lowest = s.progress.Newest, s.progress.Counts, s.progress.Lowest
	return s.res, nil
}

// read reads the page in progress and checks that paging does not loop.
func (s *pageSync) read(ctx context.Context, pages *pagePrefetcher, seen map[string]bool) (circleci.Page[circleci.Pipeline], error) {
	tok, number := s.progress.PageToken, s.progress.PageNumber
	what := fmt.Sprintf("list pipelines of project %s (page %d)", s.slug, number)
	page, err := pages.get(tok)
	if err != nil {
		if stale := stalePageToken(err, tok); stale != nil {
			s.log.Warn("stale pipeline page token", "project", s.slug, "page", number, "error", err)
			return page, nonRetryable(fmt.Sprintf("%s: CircleCI no longer accepts the page token (HTTP %d: %s): "+
				"paging must restart from the first page", what, stale.StatusCode, stale.Message), ErrStalePageToken)
		}
		return page, applicationError(ctx, err, what)
	}
	if err := pagingLoop(page, s.progress.Lowest, seen); err != nil {
		return page, applicationError(ctx, err, what)
	}
	return page, nil
}

// syncPage syncs the pipelines of page; next, told whether the page is the
// last, says whether the run goes on (and prefetches the next page).
func (s *pageSync) syncPage(ctx context.Context, page circleci.Page[circleci.Pipeline], resume bool,
	next func(last bool) bool,
) (last, more bool, err error) {
	items, number := page.Items, s.progress.PageNumber
	start, end, stopped := s.bounds(items, resume)
	last = stopped || page.NextPageToken == ""
	more = next(last)
	s.progress.Next = start
	s.hb.set(s.progress)

	work := func(ctx context.Context, i int) (pipelineData, error) {
		p := items[start+i]
		d := pipelineData{pipeline: &p}
		err := s.api.fetchWorkflows(ctx, &d, s.slug, p.ID, s.jobsFor)
		return d, err
	}
	commit := func(from int, ds []pipelineData) error {
		err := s.commit(ctx, batchOf(ds), func() {
			for _, d := range ds {
				if d.pipeline.CreatedAt.After(s.progress.Newest) {
					s.progress.Newest = d.pipeline.CreatedAt.UTC()
				}
			}
			s.progress.Next = start + from + len(ds)
			s.progress.LastPipelineID = ds[len(ds)-1].pipeline.ID
		})
		if err != nil {
			return fmt.Errorf("write %d pipelines of project %s: %w", len(ds), s.slug, err)
		}
		return nil
	}
	if err := runOrdered(ctx, end-start, s.a.concurrency(), work, commit); err != nil {
		s.log.Warn("pipeline page failed", "project", s.slug, "page", number, "next", s.progress.Next, "error", err)
		return false, false, applicationError(ctx, err, fmt.Sprintf("sync page %d of project %s", number, s.slug))
	}
	s.progress.Counts.Pages++
	for _, p := range items {
		if s.progress.Lowest == 0 || p.Number < s.progress.Lowest {
			s.progress.Lowest = p.Number
		}
	}
	s.fill()
	s.log.Info("pipeline page synced", "project", s.slug, "page", number, "pipelines", end-start,
		"resumed_at", start, "done", last, "requests", s.progress.Counts.Requests, "skipped", s.progress.Counts.Skipped)
	return last, more, nil
}

// bounds are the page's pipelines to sync: from the resume point to StopBefore.
func (s *pageSync) bounds(items []circleci.Pipeline, resume bool) (start, end int, stopped bool) {
	if resume {
		start = min(max(s.progress.Next, 0), len(items))
		if id := s.progress.LastPipelineID; id != "" {
			if i := slices.IndexFunc(items, func(p circleci.Pipeline) bool { return p.ID == id }); i >= 0 {
				start = i + 1
			}
		}
	}
	end = len(items)
	if !s.in.StopBefore.IsZero() {
		if i := slices.IndexFunc(items, func(p circleci.Pipeline) bool { return p.CreatedAt.Before(s.in.StopBefore) }); i >= 0 {
			end, stopped = i, true
		}
	}
	return min(start, end), end, stopped
}

// fail records err in the heartbeat, for the next attempt to report.
func (s *pageSync) fail(err error) (PageResult, error) {
	s.fill()
	s.progress.LastError = errorSummary(err)
	s.hb.record(s.progress)
	s.res.Newest, s.res.Counts = s.progress.Newest, s.progress.Counts
	return s.res, err
}

// pagingLoop tells whether the paging loops: page's next_page_token was seen,
// or none of its pipelines is below below (the lowest number read before).
func pagingLoop(page circleci.Page[circleci.Pipeline], below int64, seen map[string]bool) error {
	loop := func(why string) error {
		return &circleci.Error{Class: circleci.ClassPagination, Method: "GET", Route: circleci.RouteProjectPipelines,
			Continuation: true, Message: "the page-token chain loops: " + why}
	}
	if page.NextPageToken != "" && seen[page.NextPageToken] {
		return loop("the next_page_token names a page already read")
	}
	if below <= 0 || len(page.Items) == 0 {
		return nil
	}
	for _, p := range page.Items {
		if p.Number < below {
			return nil
		}
	}
	return loop(fmt.Sprintf("every pipeline on the page was read on an earlier page (numbers %d and above, "+
		"the earlier pages reached %d)", page.Items[len(page.Items)-1].Number, below))
}

// pagePrefetcher reads a project's pipeline pages one ahead, in the background.
type pagePrefetcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	api    *client
	slug   string

	token string // the token prefetched, "" for none
	done  chan pageFetch
}

// pageFetch is a page read, or why not.
type pageFetch struct {
	page circleci.Page[circleci.Pipeline]
	err  error
}

func newPagePrefetcher(ctx context.Context, api *client, slug string) *pagePrefetcher {
	ctx, cancel := context.WithCancel(ctx)
	return &pagePrefetcher{ctx: ctx, cancel: cancel, api: api, slug: slug}
}

func (p *pagePrefetcher) read(token string) (circleci.Page[circleci.Pipeline], error) {
	return p.api.projectPipelinesPage(p.ctx, p.slug, token)
}

// prefetch starts reading the page of token (not ""), unless one is pending.
func (p *pagePrefetcher) prefetch(token string) {
	if p.done != nil || token == "" {
		return
	}
	p.token = token
	p.done = make(chan pageFetch, 1)
	go func(done chan<- pageFetch) {
		page, err := p.read(token)
		done <- pageFetch{page, err}
	}(p.done)
}

// get returns the page of token: the prefetched one, or one read now.
func (p *pagePrefetcher) get(token string) (circleci.Page[circleci.Pipeline], error) {
	if p.done != nil {
		done, tok := p.done, p.token
		p.done, p.token = nil, ""
		r := <-done
		if tok == token {
			return r.page, r.err
		}
	}
	return p.read(token)
}

// stop abandons a pending prefetch and waits for it.
func (p *pagePrefetcher) stop() {
	p.cancel()
	if p.done != nil {
		<-p.done
		p.done = nil
	}
}

// stalePageToken returns err's *circleci.Error when CircleCI no longer accepts
// token: a 404 or 400 on a request with a page token (not the first page's).
func stalePageToken(err error, token string) *circleci.Error {
	if token == "" {
		return nil
	}
	ce, ok := circleci.AsError(err)
	if !ok || !ce.Continuation {
		return nil
	}
	if ce.NotFoundKind() == circleci.NotFoundPageToken ||
		(ce.Class == circleci.ClassBadRequest && ce.StatusCode == http.StatusBadRequest) {
		return ce
	}
	return nil
}

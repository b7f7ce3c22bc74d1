package activities

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// PageActivityBudget bounds how long one SyncPipelinePage run goes on starting new
// pages: once it is spent the activity returns its cursor after the page in hand,
// so that the workflow records progress (and may continue as new) at least that
// often. A variable for tests only.
var PageActivityBudget = 2 * time.Minute

// SyncPipelinePage syncs the project's pipelines from the page PageToken on,
// newest first, up to MaxPages pages (at least one): for each pipeline it lists
// the workflows and their jobs, and writes them. It returns the next page's token
// (unless paging is done) and the figures.
//
// Within a page, pipelines are fetched concurrently (PageConcurrency at once,
// their workflows' job lists too, all within the token's shared limiter) and
// written in page order: whenever a prefix of the page is complete it goes to
// the store in one transaction, then the activity heartbeats a PageProgress
// (the page's token, the index after the last pipeline written, the figures).
// While one page is processed the next page's pipeline list is already being
// read. A retry resumes where the heartbeat says: on the page being processed,
// after the last pipeline written. The activity stops starting pages after
// MaxPages of them or PageActivityBudget, whichever comes first, and paging ends
// at the first pipeline created before StopBefore.
//
// On an incremental sync (Incremental) the jobs of a workflow are listed only
// when the workflow is new, not terminal in the store, or its status changed: a
// terminal workflow's jobs are final. On a first sync every workflow's jobs are
// listed (there is nothing stored to compare with).
//
// A pipeline whose workflow list answers 404 (expired) or keeps answering 5xx
// after three tries is written anyway and recorded in the skipped ledger
// ("expired", "server_error"); likewise a workflow whose job list does. A 429 or
// a network failure fails the activity retryably, after the completed prefix was
// written and heartbeated; the next attempt reports the failure in
// PageResult.LastError.
//
// Paging that loops is a bad answer (ErrBadResponse, retried a few times): a
// next_page_token this activity has already read, or a page whose pipelines all
// have numbers at or above Below (the lowest pipeline number of the pages read
// before, which the workflow passes on): the page-token chain led back to pages
// already read (A→A, or A→B→A across activities). The result's Lowest is the
// lowest pipeline number of the pages read, for the next activity's Below.
//
// A page token CircleCI no longer accepts (a 404 on the pipeline list with a
// page token, or a 400 there, as CircleCI answers a token it cannot read) fails
// the activity with a non-retryable ErrStalePageToken: retrying the same token
// cannot help, the workflow restarts paging from the first page.
func (a *Activities) SyncPipelinePage(ctx context.Context, in PageInput) (PageResult, error) {
	if err := a.checkStore(); err != nil {
		return PageResult{}, err
	}
	if err := checkSlug(in.ProjectSlug); err != nil {
		return PageResult{}, err
	}
	conn, slug := in.Connection, in.ProjectSlug
	api, err := a.newAPI(ctx, conn)
	if err != nil {
		return PageResult{}, err
	}
	log := logger(ctx, conn)
	maxPages := max(in.MaxPages, 1)
	if a.MaxPagesPerActivity > 0 {
		maxPages = min(maxPages, a.MaxPagesPerActivity)
	}
	deadline := time.Now().Add(PageActivityBudget)

	progress := PageProgress{PageToken: in.PageToken, PageNumber: in.PageNumber}
	var resumed PageProgress
	// The details are this activity's own (an earlier attempt's): a retry goes
	// on from the page they name. Details of the one-page activity of earlier
	// versions name no page number: they belong to in.PageToken's page.
	isResume := heartbeatDetails(ctx, &resumed) && (resumed.PageNumber > 0 || resumed.PageToken == in.PageToken)
	if isResume {
		progress = resumed
		if progress.PageNumber == 0 {
			progress.PageNumber = in.PageNumber
		}
	}
	res := PageResult{LastError: progress.LastError, Attempt: attempt(ctx)}
	base := progress.Counts
	// Heartbeats start before the first request, which may wait long for the
	// limiter; until the page is read they re-send the progress resumed from (or
	// an empty one).
	hb, stopHeartbeats := newHeartbeater(ctx, progress)
	defer stopHeartbeats()
	f := a.fetcher(api, slug, hb)
	var jobsFor jobSelector
	if in.Incremental {
		jobsFor = a.changedWorkflows(slug)
	}
	// fail records why the activity fails in the heartbeat (flushed when the
	// activity returns, so the next attempt reports it) and returns the error.
	fail := func(err error) (PageResult, error) {
		api.fillRequests(&progress.Counts, base)
		progress.LastError = errorSummary(err)
		hb.record(progress)
		res.Newest, res.Counts = progress.Newest, progress.Counts
		return res, err
	}

	if progress.Lowest == 0 {
		progress.Lowest = in.Below
	}
	seen := map[string]bool{in.PageToken: true, progress.PageToken: true}
	pages := newPagePrefetcher(ctx, api, slug)
	defer pages.stop()
	for pagesThisRun := 0; ; pagesThisRun++ {
		tok, number := progress.PageToken, progress.PageNumber
		page, err := pages.get(tok)
		if err != nil {
			if stale := stalePageToken(err, tok); stale != nil {
				log.Warn("stale pipeline page token", "project", slug, "page", number, "error", err)
				return fail(nonRetryable(fmt.Sprintf(
					"list pipelines of project %s (page %d): CircleCI no longer accepts the page token (HTTP %d: %s): "+
						"paging must restart from the first page", slug, number, stale.StatusCode, stale.Message),
					ErrStalePageToken))
			}
			return fail(applicationError(ctx, err, fmt.Sprintf("list pipelines of project %s (page %d)", slug, number)))
		}
		if err := pagingLoop(page, progress.Lowest, seen); err != nil {
			return fail(applicationError(ctx, err, fmt.Sprintf("list pipelines of project %s (page %d)", slug, number)))
		}
		items := page.Items

		// Where to start (a retry resumes after the last pipeline written) and stop.
		start := 0
		if isResume && pagesThisRun == 0 {
			start = min(max(progress.Next, 0), len(items))
			if progress.LastPipelineID != "" {
				for i, p := range items {
					if p.ID == progress.LastPipelineID {
						start = i + 1
						break
					}
				}
			}
		}
		end, stopped := len(items), false
		if !in.StopBefore.IsZero() {
			for i, p := range items {
				if p.CreatedAt.Before(in.StopBefore) {
					end, stopped = i, true
					break
				}
			}
		}
		start = min(start, end)
		last := stopped || page.NextPageToken == ""
		more := !last && pagesThisRun+1 < maxPages && time.Now().Before(deadline)
		if more {
			pages.prefetch(page.NextPageToken)
		}
		progress.Next = start
		hb.set(progress)

		work := func(ctx context.Context, i int) (pipelineData, error) {
			p := items[start+i]
			d := pipelineData{pipeline: &p}
			err := f.fetchWorkflows(ctx, &d, p.ID, jobsFor)
			return d, err
		}
		commit := func(from int, ds []pipelineData) error {
			b := batchOf(ds)
			ws, err := a.write(ctx, b)
			if err != nil {
				return fmt.Errorf("write %d pipelines of project %s: %w", len(ds), slug, err)
			}
			progress.Counts.addBatch(b, ws)
			for _, d := range ds {
				if d.pipeline.CreatedAt.After(progress.Newest) {
					progress.Newest = d.pipeline.CreatedAt.UTC()
				}
			}
			progress.Next = start + from + len(ds)
			progress.LastPipelineID = ds[len(ds)-1].pipeline.ID
			api.fillRequests(&progress.Counts, base)
			hb.record(progress)
			return nil
		}
		if err := runOrdered(ctx, end-start, a.concurrency(), work, commit); err != nil {
			log.Warn("pipeline page failed", "project", slug, "page", number, "next", progress.Next, "error", err)
			return fail(applicationError(ctx, err, fmt.Sprintf("sync page %d of project %s", number, slug)))
		}
		progress.Counts.Pages++
		for _, p := range items {
			if progress.Lowest == 0 || p.Number < progress.Lowest {
				progress.Lowest = p.Number
			}
		}
		seen[page.NextPageToken] = true
		api.fillRequests(&progress.Counts, base)
		log.Info("pipeline page synced", "project", slug, "page", number, "pipelines", end-start,
			"resumed_at", start, "done", last, "requests", progress.Counts.Requests, "skipped", progress.Counts.Skipped)
		if last {
			res.Done = true
			break
		}
		// The page is done: checkpoint the next one, which a retry starts from.
		progress = PageProgress{PageToken: page.NextPageToken, PageNumber: number + 1, Newest: progress.Newest,
			Lowest: progress.Lowest, Counts: progress.Counts, LastError: progress.LastError}
		hb.record(progress)
		if !more {
			res.NextPageToken = page.NextPageToken
			break
		}
	}
	res.Newest, res.Counts, res.Lowest = progress.Newest, progress.Counts, progress.Lowest
	return res, nil
}

// pagingLoop tells whether page shows the pipeline list's paging looping: its
// next_page_token was read already (seen), or it holds pipelines but none
// below below (the lowest pipeline number read before; 0 means none), so it
// is a page read before. Pages of a list newest first go down in pipeline
// numbers; a page that repeats a few pipelines (new ones pushed them on) but
// reaches lower is progress.
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

// pagePrefetcher reads a project's pipeline pages, one ahead: prefetch starts
// reading the page of a token in the background, and get returns it (or reads
// a page not prefetched). A page answered 5xx is read again, as the page's
// other lists are (retry), before the error fails the activity.
type pagePrefetcher struct {
	ctx    context.Context
	cancel context.CancelFunc
	api    *api
	slug   string

	token string // the token prefetched, "" for none
	done  chan pageFetch
}

// pageFetch is a page read, or why not.
type pageFetch struct {
	page circleci.Page[circleci.Pipeline]
	err  error
}

func newPagePrefetcher(ctx context.Context, api *api, slug string) *pagePrefetcher {
	ctx, cancel := context.WithCancel(ctx)
	return &pagePrefetcher{ctx: ctx, cancel: cancel, api: api, slug: slug}
}

// read reads the page of token (the api tries it again after a 5xx or a 429).
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

// stalePageToken returns err's *circleci.Error when it says that CircleCI no
// longer accepts the pipeline list's page token: a 404 on a request with a page
// token (NotFoundPageToken), or a 400 there (CircleCI's answer to a token it
// cannot read, "Invalid page-token."). Nil otherwise, and always for the first
// page (token ""), whose 404 is a missing project.
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

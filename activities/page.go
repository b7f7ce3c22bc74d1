package activities

import (
	"context"
	"fmt"
	"net/http"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// SyncPipelinePage fetches one page of the project's pipelines, newest first, then
// the workflows and jobs of each pipeline on it, and writes them. It heartbeats a
// PageProgress after each pipeline written, so a retry resumes mid-page.
//
// Pipelines are fetched concurrently (PageConcurrency at once, their workflows'
// job lists too) and written in page order: whenever a prefix of the page is
// complete it goes to the store in one batch, then the progress is heartbeated.
// The jobs of every workflow are listed (paging does not consult the store: a
// stored terminal workflow could skip its job list, but paging mostly meets
// pipelines for the first time). Paging stops at the first pipeline created
// before StopBefore.
//
// A pipeline whose workflow list answers 404 (expired) or keeps answering 5xx
// after three tries is written anyway and recorded in the skipped ledger
// ("expired", "server_error"); likewise a workflow whose job list does. A 429 or
// a network failure fails the activity retryably, after the completed prefix was
// written and heartbeated.
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

	progress := PageProgress{PageToken: in.PageToken}
	var resumed PageProgress
	isResume := heartbeatDetails(ctx, &resumed) && resumed.PageToken == in.PageToken
	if isResume {
		progress = resumed
	}
	baseRequests := progress.Counts.Requests
	requests := func() int64 { return baseRequests + api.Requests() }
	// Heartbeats start before the first request, which may wait long for the
	// limiter; until the page is read they re-send the progress resumed from (or
	// an empty one).
	hb, stopHeartbeats := newHeartbeater(ctx, progress)
	defer stopHeartbeats()

	page, err := api.projectPipelinesPage(ctx, slug, in.PageToken)
	if err != nil {
		if stale := stalePageToken(err, in.PageToken); stale != nil {
			log.Warn("stale pipeline page token", "project", slug, "page", in.PageNumber, "error", err)
			return PageResult{Counts: progress.Counts}, nonRetryable(fmt.Sprintf(
				"list pipelines of project %s (page %d): CircleCI no longer accepts the page token (HTTP %d: %s): "+
					"paging must restart from the first page", slug, in.PageNumber, stale.StatusCode, stale.Message),
				ErrStalePageToken)
		}
		return PageResult{Counts: progress.Counts}, applicationError(ctx, err,
			fmt.Sprintf("list pipelines of project %s (page %d)", slug, in.PageNumber))
	}
	items := page.Items

	// Where to start (a retry resumes after the last pipeline written) and stop.
	start := 0
	if isResume {
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
	progress.Next = start
	progress.Counts.Pages = 1
	hb.set(progress)
	f := a.fetcher(api, slug, hb)

	work := func(ctx context.Context, i int) (pipelineData, error) {
		p := items[start+i]
		d := pipelineData{pipeline: &p}
		err := f.fetchWorkflows(ctx, &d, p.ID, nil)
		return d, err
	}
	commit := func(from int, ds []pipelineData) error {
		b := batchOf(ds)
		ws, err := a.Store.WriteBatch(ctx, b)
		if err != nil {
			return fmt.Errorf("write %d pipelines of project %s: %w", len(ds), slug, err)
		}
		addBatch(&progress.Counts, b, ws)
		for _, d := range ds {
			if d.pipeline.CreatedAt.After(progress.Newest) {
				progress.Newest = d.pipeline.CreatedAt.UTC()
			}
		}
		last := ds[len(ds)-1].pipeline
		progress.Next = start + from + len(ds)
		progress.LastPipelineID = last.ID
		progress.Counts.Requests = requests()
		hb.record(progress)
		return nil
	}
	err = runOrdered(ctx, end-start, a.concurrency(), work, commit)
	progress.Counts.Requests = requests()
	if err != nil {
		log.Warn("pipeline page failed", "project", slug, "page", in.PageNumber, "next", progress.Next, "error", err)
		return PageResult{Newest: progress.Newest, Counts: progress.Counts}, applicationError(ctx, err,
			fmt.Sprintf("sync page %d of project %s", in.PageNumber, slug))
	}
	res := PageResult{Newest: progress.Newest, Counts: progress.Counts}
	res.Done = stopped || page.NextPageToken == ""
	if !res.Done {
		res.NextPageToken = page.NextPageToken
	}
	log.Info("pipeline page synced", "project", slug, "page", in.PageNumber, "pipelines", end-start,
		"resumed_at", start, "done", res.Done, "requests", res.Counts.Requests, "skipped", res.Counts.Skipped)
	return res, nil
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

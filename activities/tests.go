package activities

import (
	"context"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// tests reads every page of one job's test results, handing each page to the
// run's writer as it comes (its results keyed by their position), and the job's
// tests ledger entry after the last; a failure the ledger takes (404, 5xx, garbage) is recorded
// instead, keeping the pages written.
func (x *extras) tests(ctx context.Context, j store.PendingJob) error {
	ledger := store.JobTests{ProjectSlug: x.slug, JobNumber: j.Number, Outcome: store.TestsEmpty}
	pages := circleci.Pages(ctx, func(ctx context.Context, tok string) (circleci.Page[circleci.TestResult], error) {
		return do(ctx, x.api, func(ctx context.Context) (circleci.Page[circleci.TestResult], error) {
			return x.api.c.JobTestsPage(ctx, x.slug, j.Number, tok)
		})
	})
	for p, err := range pages {
		if err != nil {
			s := extrasSkipped(store.KindJobTests, x.slug, j.Number, err)
			if s == nil {
				return err
			}
			return x.commit(ctx, store.Batch{Skipped: []store.Skipped{*s}})
		}
		ledger.Pages++
		b := store.Batch{TestResults: make([]store.TestResult, len(p.Items))}
		for i, r := range p.Items {
			b.TestResults[i] = store.TestResult{ProjectSlug: x.slug, JobNumber: j.Number,
				Ordinal: ledger.Results + int64(i), TestResult: r}
		}
		ledger.Results += int64(len(p.Items))
		if p.NextPageToken == "" {
			if ledger.Results > 0 {
				ledger.Outcome = store.TestsFetched
			}
			b.JobTests = []store.JobTests{ledger}
			b.Resolved = resolvedExtras(j, store.KindJobTests, x.slug)
		}
		if err := x.commit(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// latency: rounds of reruns on weeks-old pipelines, each event timed from its
// arrival to the moment its workflow is stored with the truth's status and
// jobs; and the requests those targeted syncs cost per pipeline.
func (h *hookBench) latency(b *testing.B, rounds int) {
	ctx := b.Context()
	var lat []time.Duration
	var reqs, own int64
	pipelines, stored, missing := 0, 0, 0
	for range rounds {
		start, before := time.Now(), h.fake.Stats().Total
		adv := h.fake.Advance(circlecitest.Advance{Reruns: 3, RerunsFromFailed: 1, RerunMinAge: oldRerunAge})
		ex := h.fake.Expected(h.fake.Token())
		want := wantOf(ex, append(slices.Clone(adv.RerunWorkflows), adv.RerunFromFailedWorkflows...))
		seen := watchRows(ctx, h.db, want, 2*time.Minute)
		missing += len(want) - len(seen)
		_ = h.fake.WaitDeliveries(ctx)
		h.settle()
		arrivals, _ := h.log.since(start)
		for _, a := range arrivals {
			if t, ok := seen[a.workflow]; ok {
				lat = append(lat, max(0, t.Sub(a.at)))
				if !t.After(a.at) {
					stored++
				}
			}
		}
		ps := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(adv.RerunPipelines), adv.RerunFromFailedPipelines...))))
		pipelines += len(ps)
		reqs += h.fake.Stats().Total - before
		own += ownLists(ex, ps)
	}
	fmt.Printf("webhooks: event received → its rows committed (%d events of %d rounds of reruns on pipelines %s old, rows polled every 25 ms):\n",
		len(lat), rounds, oldRerunAge)
	fmt.Printf("  p50 %s, p95 %s (target ≤ 2 s), p99 %s (target ≤ 5 s), max %s; %d events found their rows already stored (an earlier event of the pipeline); %d workflows never stored\n",
		pct(lat, 0.50), pct(lat, 0.95), pct(lat, 0.99), pct(lat, 1), stored, missing)
	fmt.Printf("  requests: %d for %d pipelines (%.2f each); their own lists (pipeline, workflow pages, job pages): %d (%.2f each)\n",
		reqs, pipelines, float64(reqs)/float64(max(pipelines, 1)), own, float64(own)/float64(max(pipelines, 1)))
}

// burst posts n events on one stored pipeline at once, retrying 503s as
// CircleCI would (1 s, doubling), and counts the requests they cost against
// one fetch of the pipeline's lists.
func (h *hookBench) burst(b *testing.B, n int) {
	ex := h.fake.Expected(h.fake.Token())
	i := slices.IndexFunc(ex.Workflows, func(w circlecitest.Workflow) bool { return w.Status == "success" })
	w := ex.Workflows[i]
	before := h.fake.Stats().Total
	first, final := make([]int, n), make([]int, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			body := eventBody(fmt.Sprintf("burst-%s-%d", w.ID, k), w)
			for attempt := range 6 {
				final[k], _ = signedPost(h.url+h.connectionOf(w.ProjectSlug), h.secret, body)
				if attempt == 0 {
					first[k] = final[k]
				}
				if final[k]/100 == 2 {
					return
				}
				time.Sleep(time.Second << attempt)
			}
		})
	}
	wg.Wait()
	h.settle()
	reqs, own := h.fake.Stats().Total-before, ownLists(ex, []string{w.PipelineID})
	fmt.Printf("webhooks: a burst of %d events on one pipeline, answered %v at once, %v after retries: %d requests; one fetch of its lists is %d\n",
		n, countCodes(first), countCodes(final), reqs, own)
}

// rate advances the fake every 6 s for d (new pipelines finishing, reruns),
// then finishes what runs; every workflow an event named must be stored as the
// truth says.
func (h *hookBench) rate(b *testing.B, d time.Duration) {
	ctx := b.Context()
	start, st0 := time.Now(), h.fake.DeliveryStats()
	for time.Since(start) < d {
		h.fake.Advance(circlecitest.Advance{NewPipelines: 9, FinishRunning: true, Reruns: 3, RerunMinAge: oldRerunAge})
		time.Sleep(6 * time.Second)
	}
	inMinute := h.fake.DeliveryStats().Events - st0.Events
	h.fake.Advance(circlecitest.Advance{FinishRunning: true})
	_ = h.fake.WaitDeliveries(ctx)
	st := h.fake.DeliveryStats()
	arrivals, _ := h.log.since(start)
	want := wantOf(h.fake.Expected(h.fake.Token()), namedWorkflows(arrivals))
	seen := watchRows(ctx, h.db, want, 5*time.Minute)
	first, last := span(arrivals)
	fmt.Printf("webhooks: %d events from %s of activity (%.0f a minute), then %d as the rest finished; %d duplicates; delivered %d, retried %d, failed %d\n",
		inMinute, d, float64(inMinute)/d.Minutes(), st.Events-st0.Events-inMinute, st.Duplicates-st0.Duplicates,
		st.Delivered-st0.Delivered, st.Retried-st0.Retried, st.Failed-st0.Failed)
	fmt.Printf("  %d distinct events received over %s; workflows they name stored as the truth says: %d of %d; the last %s after the last event\n",
		len(arrivals), last.Sub(first).Round(time.Millisecond), len(seen), len(want), latest(seen).Sub(last).Round(time.Millisecond))
}

// outage makes Temporal unreachable from the receiver for d while the fake
// delivers reruns' events; the 503s are retried by the fake until they land.
func (h *hookBench) outage(b *testing.B, d time.Duration) {
	ctx := b.Context()
	start, st0 := time.Now(), h.fake.DeliveryStats()
	_, codes0 := h.log.since(start)
	h.proxy.Down()
	adv := h.fake.Advance(circlecitest.Advance{Reruns: 4, RerunsFromFailed: 2, RerunMinAge: oldRerunAge})
	time.Sleep(d)
	if err := h.proxy.Up(); err != nil {
		b.Fatal(err)
	}
	up := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	_ = h.fake.WaitDeliveries(wctx)
	st := h.fake.DeliveryStats()
	want := wantOf(h.fake.Expected(h.fake.Token()), append(slices.Clone(adv.RerunWorkflows), adv.RerunFromFailedWorkflows...))
	seen := watchRows(ctx, h.db, want, 3*time.Minute)
	arrivals, codes := h.log.since(start)
	for k, v := range codes0 {
		codes[k] -= v
	}
	fmt.Printf("webhooks: Temporal unreachable from the receiver for %s: %d events, answers %v; the fake retried %d, delivered %d, failed %d\n",
		d, st.Events-st0.Events, codes, st.Retried-st0.Retried, st.Delivered-st0.Delivered, st.Failed-st0.Failed)
	fmt.Printf("  %d distinct events; workflows stored as the truth says: %d of %d, the last %s after Temporal came back\n",
		len(arrivals), len(seen), len(want), latest(seen).Sub(up).Round(time.Millisecond))
}

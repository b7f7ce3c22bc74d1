package circlecitest

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// plan turns events into deliveries to the matching webhooks, each with its own
// event id; with the faults on, some twice (same id) and the batch shuffled.
func (hs *hookState) plan(evs []hookEvent, o WebhookOptions) ([]*delivery, int) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []*delivery
	dups := 0
	g := gen{hs.faults}
	for _, ev := range evs {
		for _, h := range hs.hooks {
			if h.project != ev.project || !slices.Contains(h.events, ev.body.Type) {
				continue
			}
			body := ev.body
			body.ID = gen{hs.ids}.uuid()
			body.Webhook = wireNamed{ID: h.id, Name: h.name}
			b, err := json.Marshal(body)
			if err != nil {
				continue
			}
			dl := &delivery{hookID: h.id, url: h.url, secret: h.secret, verifyTLS: h.verifyTLS,
				eventID: body.ID, kind: body.Type, body: b}
			out = append(out, dl)
			if o.DuplicateRate > 0 && g.chance(o.DuplicateRate) {
				c := *dl
				out = append(out, &c)
				dups++
			}
		}
	}
	if o.Reorder {
		out = shuffled(g.r, out)
	}
	return out, dups
}

// WaitDeliveries waits until no delivery is queued or in flight (retries
// included), or ctx is done.
func (s *Server) WaitDeliveries(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if st, _ := s.hooks.out.snapshot(); st.Pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// DeliveryStats returns the counts of webhook deliveries so far.
func (s *Server) DeliveryStats() DeliveryStats {
	st, _ := s.hooks.out.snapshot()
	return st
}

// DeliveredEvents returns the event ids delivered (answered 2xx) to the webhook
// with that id, in the order of the answers; a duplicate appears twice.
func (s *Server) DeliveredEvents(webhookID string) []string {
	_, d := s.hooks.out.snapshot()
	return d[webhookID]
}

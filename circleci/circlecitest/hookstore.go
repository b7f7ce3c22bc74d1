package circlecitest

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// hook is a registered outbound webhook.
type hook struct {
	id, name, url, secret string
	events                []string
	verifyTLS             bool
	project               int
	projectID             string
	createdAt, updatedAt  time.Time
}

// apply sets the fields b carries; the scope never changes.
func (h *hook) apply(b webhookBody, now time.Time) {
	if b.Name != nil {
		h.name = *b.Name
	}
	if b.URL != nil {
		h.url = *b.URL
	}
	if b.SigningSecret != nil {
		h.secret = *b.SigningSecret
	}
	if b.VerifyTLS != nil {
		h.verifyTLS = *b.VerifyTLS
	}
	if b.Events != nil {
		h.events = slices.Compact(slices.Sorted(slices.Values(b.Events)))
	}
	h.updatedAt = now
}

func (h *hook) wire() wireWebhook {
	return wireWebhook{URL: h.url, VerifyTLS: h.verifyTLS, ID: h.id, SigningSecret: maskSecret(h.secret),
		UpdatedAt: wireTime(h.updatedAt), Name: h.name, CreatedAt: wireTime(h.createdAt),
		Scope: wireScope{ID: h.projectID, Type: "project"}, Events: slices.Clone(h.events)}
}

// hookState holds the webhooks, the event id stream and the deliverer.
type hookState struct {
	mu     sync.Mutex
	hooks  []*hook    // in creation order
	ids    *rand.Rand // streamEvents: webhook and event ids
	faults *rand.Rand // streamHookFaults: duplicates and reordering
	out    *deliverer
}

func newHookState(opts Options) *hookState {
	return &hookState{ids: newRand(opts.Seed, streamEvents), faults: newRand(opts.Seed, streamHookFaults),
		out: newDeliverer(opts.Webhooks)}
}

// add stores h with a new id, unless its project has MaxProjectWebhooks already.
func (hs *hookState) add(h *hook) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for _, o := range hs.hooks {
		if o.project == h.project {
			n++
		}
	}
	if n >= MaxProjectWebhooks {
		return false
	}
	h.id = gen{hs.ids}.uuid()
	hs.hooks = append(hs.hooks, h)
	return true
}

// list returns copies of project i's webhooks, oldest first.
func (hs *hookState) list(i int) []hook {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	var out []hook
	for _, h := range hs.hooks {
		if h.project == i {
			out = append(out, *h)
		}
	}
	return out
}

// get returns a copy of the webhook with that id.
func (hs *hookState) get(id string) (hook, bool) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hs.hooks {
		if h.id == id {
			return *h, true
		}
	}
	return hook{}, false
}

func (hs *hookState) remove(id string) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	hs.hooks = slices.DeleteFunc(hs.hooks, func(h *hook) bool { return h.id == id })
}

// update applies b to the webhook with that id and returns it as listed.
func (hs *hookState) update(id string, b webhookBody, now time.Time) wireWebhook {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, h := range hs.hooks {
		if h.id == id {
			h.apply(b, now)
			return h.wire()
		}
	}
	return wireWebhook{}
}

// any reports whether a webhook is registered.
func (hs *hookState) any() bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return len(hs.hooks) > 0
}

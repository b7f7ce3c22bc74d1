package circlecitest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

// WebhookOptions shape the delivery of outbound webhook events. Faults are off
// by default; their draws are seeded by Options.Seed.
type WebhookOptions struct {
	// DuplicateRate is the probability that an event is delivered a second time.
	DuplicateRate float64 `json:"duplicate_rate,omitempty"`
	// Reorder shuffles the events of each Advance before they are sent.
	Reorder bool `json:"reorder,omitempty"`
	// RetryBase is the first retry's delay after a non-2xx answer or an error,
	// doubling after each (default 1s: 1, 2, 4, … 32 s, as CircleCI's outlast a
	// short outage).
	RetryBase time.Duration `json:"retry_base,omitempty"`
	// MaxRetries bounds the retries of a delivery (default 6).
	MaxRetries int `json:"max_retries,omitempty"`
	// Timeout bounds an attempt (default 10s, CircleCI's).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Parallel is how many deliveries are in flight at most (default 4; 1 keeps
	// the send order).
	Parallel int `json:"parallel,omitempty"`
	// RootCAs, when set, replace the system's roots for webhooks with
	// verify-tls true (a test's CA stands in for a public one).
	RootCAs *x509.CertPool `json:"-"`
}

func (o WebhookOptions) withDefaults() WebhookOptions {
	if o.RetryBase <= 0 {
		o.RetryBase = time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 6
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	return o
}

// DeliveryStats count the fake's webhook deliveries.
type DeliveryStats struct {
	// Events are the deliveries planned, one per event and matching webhook,
	// Duplicates of them included.
	Events     int `json:"events"`
	Duplicates int `json:"duplicates"`
	// Attempts are the POSTs sent; Delivered those answered 2xx; Retried those
	// answered otherwise (or failed) and tried again; Failed the deliveries given up.
	Attempts  int `json:"attempts"`
	Delivered int `json:"delivered"`
	Retried   int `json:"retried"`
	Failed    int `json:"failed"`
	// Pending are the deliveries queued or in flight.
	Pending int `json:"pending"`
}

// delivery is one event to one webhook.
type delivery struct {
	hookID, url, secret string
	verifyTLS           bool
	eventID, kind       string
	body                []byte
	attempt             int
	due                 time.Time
}

// deliverer sends deliveries in the background, retrying with backoff.
type deliverer struct {
	opts     WebhookOptions
	client   *http.Client
	insecure *http.Client
	start    sync.Once
	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu        sync.Mutex
	queue     []*delivery
	inFlight  int
	stats     DeliveryStats
	delivered map[string][]string // webhook id → event ids answered 2xx, in order
}

func newDeliverer(o WebhookOptions) *deliverer {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // verify-tls false
	verified := http.DefaultTransport.(*http.Transport).Clone()
	verified.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	return &deliverer{opts: o, client: &http.Client{Timeout: o.Timeout, Transport: verified},
		insecure: &http.Client{Timeout: o.Timeout, Transport: tr},
		wake:     make(chan struct{}, 1), ctx: ctx, cancel: cancel, delivered: map[string][]string{}}
}

// enqueue queues ds, starting the sender on first use.
func (d *deliverer) enqueue(ds []*delivery, dups int) {
	if len(ds) == 0 {
		return
	}
	d.start.Do(func() {
		d.wg.Add(1)
		go d.run()
	})
	d.mu.Lock()
	d.queue = append(d.queue, ds...)
	d.stats.Events += len(ds)
	d.stats.Duplicates += dups
	d.mu.Unlock()
	d.poke()
}

func (d *deliverer) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run sends due deliveries in queue order, at most Parallel at once, until closed.
func (d *deliverer) run() {
	defer d.wg.Done()
	sem := make(chan struct{}, d.opts.Parallel)
	for {
		next, wait := d.next()
		if next == nil {
			t := time.NewTimer(wait)
			select {
			case <-d.ctx.Done():
				t.Stop()
				return
			case <-d.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-d.ctx.Done():
			return
		}
		d.wg.Add(1)
		go func() {
			defer func() { <-sem; d.wg.Done() }()
			d.send(next)
		}()
	}
}

// next pops the first due delivery, or says how long until one is due.
func (d *deliverer) next() (*delivery, time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	wait := time.Hour
	for i, dl := range d.queue {
		if !dl.due.After(now) {
			d.queue = slices.Delete(d.queue, i, i+1)
			d.inFlight++
			return dl, 0
		}
		wait = min(wait, dl.due.Sub(now))
	}
	return nil, wait
}

// send makes one attempt and records it, requeueing a failed one with backoff.
func (d *deliverer) send(dl *delivery) {
	ok := d.post(dl)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inFlight--
	d.stats.Attempts++
	switch {
	case ok:
		d.stats.Delivered++
		d.delivered[dl.hookID] = append(d.delivered[dl.hookID], dl.eventID)
	case dl.attempt < d.opts.MaxRetries && d.ctx.Err() == nil:
		d.stats.Retried++
		dl.due = time.Now().Add(d.opts.RetryBase << dl.attempt)
		dl.attempt++
		d.queue = append(d.queue, dl)
		d.poke()
	default:
		d.stats.Failed++
	}
}

// post sends dl as CircleCI does and reports a 2xx answer.
func (d *deliverer) post(dl *delivery) bool {
	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, dl.url, bytes.NewReader(dl.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "CircleCI-Webhook/1.0")
	req.Header.Set(webhooks.EventTypeHeader, dl.kind)
	req.Header.Set(webhooks.SignatureHeader, webhooks.Sign([]byte(dl.secret), dl.body))
	c := d.client
	if !dl.verifyTLS {
		c = d.insecure
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode/100 == 2
}

// snapshot returns the stats and each webhook's delivered event ids.
func (d *deliverer) snapshot() (DeliveryStats, map[string][]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.stats
	st.Pending = len(d.queue) + d.inFlight
	out := map[string][]string{}
	for k, v := range d.delivered {
		out[k] = slices.Clone(v)
	}
	return st, out
}

// close stops sending; queued deliveries are dropped, in-flight ones cancelled.
func (d *deliverer) close() {
	d.cancel()
	d.wg.Wait()
}

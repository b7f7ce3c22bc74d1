package activities

import (
	"encoding/json"
	"fmt"
	"maps"

	"github.com/circleci-sync/circleci-sync/store"
)

// SyncCounts are the figures of a sync step, added up by the workflows.
type SyncCounts struct {
	Pages int64 `json:"pages"`
	// Entities are the entities written by kind (CountedKinds), in JSON each
	// under its plural.
	Entities map[string]int64 `json:"-"`
	// Skipped counts the skipped-ledger entries written, by reason in SkippedBy.
	Skipped   int64      `json:"skipped"`
	SkippedBy SkipCounts `json:"skipped_by_reason"`
	// Written and Unchanged are the store's WriteStats, summed.
	Written   int64 `json:"written"`
	Unchanged int64 `json:"unchanged"`
	// Requests counts the requests sent (retries included), RateLimited the 429s.
	Requests    int64 `json:"requests"`
	RateLimited int64 `json:"rate_limited"`
	// RateLimitWaitMS sums the time requests waited for the token's limiter.
	RateLimitWaitMS int64 `json:"rate_limit_wait_ms"`
	// RateLimitHeldMS is the wall time some request waited for the limiter:
	// concurrent waits count once; Add keeps the longer of two (steps that
	// ran at the same time), Then adds (steps one after the other).
	RateLimitHeldMS int64 `json:"rate_limit_held_ms,omitempty"`
	// ServerErrors counts the 5xx answers (the client retries them).
	ServerErrors int64 `json:"server_errors,omitempty"`
}

// SkipCounts counts skipped-ledger entries by reason.
type SkipCounts struct {
	// Expired: past CircleCI's data retention (404).
	Expired int64 `json:"expired"`
	// ServerError: kept answering 5xx; retried by the next sync.
	ServerError int64 `json:"server_error"`
	// NotFound: the entity does not exist (a deleted user, 404).
	NotFound int64 `json:"not_found"`
}

// add counts one entry of reason r.
func (s *SkipCounts) add(r string) {
	switch r {
	case reasonExpired:
		s.Expired++
	case reasonServerError:
		s.ServerError++
	case reasonNotFound:
		s.NotFound++
	}
}

// CountedKinds are the kinds SyncCounts reports: all but the project (StartProject's).
func CountedKinds() []store.EntityKind {
	var out []store.EntityKind
	for _, k := range store.EntityKinds {
		if k.Name != store.KindProject {
			out = append(out, k)
		}
	}
	return out
}

// Of is the number of entities of kind counted.
func (c SyncCounts) Of(kind string) int64 { return c.Entities[kind] }

// AddEntities adds n entities of kind.
func (c *SyncCounts) AddEntities(kind string, n int64) {
	if n == 0 {
		return
	}
	// Copy on write: copies of c (heartbeat details read by the keep-alive
	// goroutine, results) keep their map unchanged.
	m := make(map[string]int64, len(c.Entities)+1)
	maps.Copy(m, c.Entities)
	m[kind] += n
	c.Entities = m
}

// countsJSON is SyncCounts without its JSON methods.
type countsJSON SyncCounts

// MarshalJSON writes c flat, each kind under its plural (opt-in kinds only when
// counted): the histories' format.
func (c SyncCounts) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(countsJSON(c))
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1]
	for _, k := range CountedKinds() {
		if n := c.Entities[k.Name]; n != 0 || !k.OptIn {
			b = fmt.Appendf(b, ",%q:%d", k.Plural, n)
		}
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *SyncCounts) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*countsJSON)(c)); err != nil {
		return err
	}
	c.Entities = nil
	for _, k := range CountedKinds() {
		var n int64
		if raw, ok := fields[k.Plural]; ok {
			if err := json.Unmarshal(raw, &n); err != nil {
				return fmt.Errorf("counts: %s: %w", k.Plural, err)
			}
		}
		c.AddEntities(k.Name, n)
	}
	return nil
}

// Add adds o to c.
func (c *SyncCounts) Add(o SyncCounts) {
	c.Pages += o.Pages
	for k, n := range o.Entities {
		c.AddEntities(k, n)
	}
	c.Skipped += o.Skipped
	c.SkippedBy.Expired += o.SkippedBy.Expired
	c.SkippedBy.ServerError += o.SkippedBy.ServerError
	c.SkippedBy.NotFound += o.SkippedBy.NotFound
	c.Written += o.Written
	c.Unchanged += o.Unchanged
	c.Requests += o.Requests
	c.RateLimited += o.RateLimited
	c.RateLimitWaitMS += o.RateLimitWaitMS
	c.RateLimitHeldMS = max(c.RateLimitHeldMS, o.RateLimitHeldMS)
	c.ServerErrors += o.ServerErrors
}

// Then adds o, a step run after c's: its rate-limit hold adds up.
func (c *SyncCounts) Then(o SyncCounts) {
	held := c.RateLimitHeldMS + o.RateLimitHeldMS
	c.Add(o)
	c.RateLimitHeldMS = held
}

// addBatch adds a written batch's figures to c.
func (c *SyncCounts) addBatch(b store.Batch, ws store.WriteStats) {
	for k, n := range b.Entities() {
		c.AddEntities(k, int64(n))
	}
	c.Skipped += int64(len(b.Skipped))
	for _, sk := range b.Skipped {
		c.SkippedBy.add(sk.Reason)
	}
	c.Written += int64(ws.Written)
	c.Unchanged += int64(ws.Unchanged)
}

// Map returns the counts by name, as stored in the sync state's LastRun.
func (c SyncCounts) Map() map[string]int64 {
	m := map[string]int64{
		"pages": c.Pages, "skipped": c.Skipped, "skipped_expired": c.SkippedBy.Expired,
		"skipped_server_error": c.SkippedBy.ServerError, "skipped_not_found": c.SkippedBy.NotFound,
		"written": c.Written, "unchanged": c.Unchanged, "requests": c.Requests,
		"rate_limited": c.RateLimited, "rate_limit_wait_ms": c.RateLimitWaitMS,
		"rate_limit_held_ms": c.RateLimitHeldMS, "server_errors": c.ServerErrors,
	}
	for _, k := range CountedKinds() {
		if n := c.Entities[k.Name]; n != 0 || !k.OptIn {
			m[k.Plural] = n
		}
	}
	return m
}

package circlecitest

import (
	"maps"
	"sync"
	"time"
)

// RetryAfterGrace: a request arriving this soon after a 429 was presumably sent
// before the client read it, and is no Retry-After violation.
const RetryAfterGrace = 100 * time.Millisecond

// Stats counts the CircleCI API requests the server answered (the /_fake/
// control routes are not counted).
type Stats struct {
	// Requests counts answered requests by route template and status ("<METHOD>
	// (unmatched)" for unknown routes).
	Requests map[string]map[int]int64 `json:"requests"`
	// Total is the number of answered requests.
	Total int64 `json:"total"`
	// MaxConcurrent is the largest number of requests in flight at once
	// (latency included) since the start or the last reset.
	MaxConcurrent int64 `json:"max_concurrent"`
	// RetryAfterSent counts 429 responses sent with a Retry-After header.
	RetryAfterSent int64 `json:"retry_after_sent"`

	// RetryAfterViolations counts requests that arrived inside a 429's Retry-After
	// window for their token (past RetryAfterGrace); RetryAfterHonoured the windows
	// that closed without one (docs/design.md, "Introspection").
	RetryAfterViolations int64 `json:"retry_after_violations"`
	// RetryAfterHonoured: see RetryAfterViolations.
	RetryAfterHonoured int64 `json:"retry_after_honoured"`

	// Corrupted counts the answers spoilt by Faults.Corrupt, by kind.
	Corrupted map[CorruptionKind]int64 `json:"corrupted,omitempty"`
}

// waitWindow is the wait one 429 asked for.
type waitWindow struct {
	sent, until time.Time
	violated    bool
}

// Count returns how many requests to route were answered with status, or
// with any status when status is 0.
func (s Stats) Count(route string, status int) int64 {
	if status != 0 {
		return s.Requests[route][status]
	}
	var n int64
	for _, c := range s.Requests[route] {
		n += c
	}
	return n
}

// CountStatus returns how many requests, all routes together, were answered
// with status.
func (s Stats) CountStatus(status int) int64 {
	var n int64
	for _, byStatus := range s.Requests {
		n += byStatus[status]
	}
	return n
}

// statsCollector accumulates Stats.
type statsCollector struct {
	mu       sync.Mutex
	stats    Stats
	inFlight int64
	// windows are the open Retry-After wait windows, per token.
	windows map[string][]waitWindow
	now     func() time.Time
}

func newStatsCollector() *statsCollector {
	return &statsCollector{stats: Stats{Requests: map[string]map[int]int64{}}, windows: map[string][]waitWindow{},
		now: time.Now}
}

// begin counts a request of token in flight, and checks its arrival against
// the token's open wait windows.
func (c *statsCollector) begin(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight++
	c.stats.MaxConcurrent = max(c.stats.MaxConcurrent, c.inFlight)

	ws := c.windows[token]
	if len(ws) == 0 {
		return
	}
	now := c.now()
	open := ws[:0]
	violation := false
	for _, w := range ws {
		switch {
		case !now.Before(w.until):
			if !w.violated {
				c.stats.RetryAfterHonoured++
			}
			continue
		case now.After(w.sent.Add(RetryAfterGrace)):
			w.violated = true
			violation = true
		}
		open = append(open, w)
	}
	if violation {
		c.stats.RetryAfterViolations++
	}
	if len(open) == 0 {
		delete(c.windows, token)
		return
	}
	c.windows[token] = open
}

// rateLimited opens a wait window of retryAfter for token: a 429 asking to
// wait that long is being sent now.
func (c *statsCollector) rateLimited(token string, retryAfter time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.windows[token] = append(c.windows[token], waitWindow{sent: now, until: now.Add(retryAfter)})
}

// corrupted counts an answer spoilt by kind.
func (c *statsCollector) corrupted(kind CorruptionKind) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats.Corrupted == nil {
		c.stats.Corrupted = map[CorruptionKind]int64{}
	}
	c.stats.Corrupted[kind]++
}

func (c *statsCollector) end(route string, status int, retryAfter bool) {
	if status == 0 {
		status = 200
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight--
	m := c.stats.Requests[route]
	if m == nil {
		m = map[int]int64{}
		c.stats.Requests[route] = m
	}
	m[status]++
	c.stats.Total++
	if status == 429 && retryAfter {
		c.stats.RetryAfterSent++
	}
}

func (c *statsCollector) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.stats
	out.Requests = make(map[string]map[int]int64, len(c.stats.Requests))
	for k, v := range c.stats.Requests {
		out.Requests[k] = maps.Clone(v)
	}
	out.Corrupted = maps.Clone(c.stats.Corrupted)
	return out
}

func (c *statsCollector) reset() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.stats
	c.stats = Stats{Requests: map[string]map[int]int64{}}
	c.windows = map[string][]waitWindow{}
	return before
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the request counters and returns what they were.
func (s *Server) ResetStats() Stats { return s.stats.reset() }

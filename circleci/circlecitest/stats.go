package circlecitest

import (
	"maps"
	"sync"
)

// Stats counts the CircleCI API requests the server answered (the /_fake/
// control routes are not counted).
type Stats struct {
	// Requests counts answered requests by route template and HTTP status.
	// Templates look like "GET /api/v2/pipeline/{pipeline-id}/workflow";
	// requests to no known route count under "<METHOD> (unmatched)".
	Requests map[string]map[int]int64 `json:"requests"`
	// Total is the number of answered requests.
	Total int64 `json:"total"`
	// MaxConcurrent is the largest number of requests in flight at once
	// (latency included) since the start or the last reset.
	MaxConcurrent int64 `json:"max_concurrent"`
	// RetryAfterSent counts 429 responses sent with a Retry-After header.
	RetryAfterSent int64 `json:"retry_after_sent"`
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
}

func newStatsCollector() *statsCollector {
	return &statsCollector{stats: Stats{Requests: map[string]map[int]int64{}}}
}

func (c *statsCollector) begin() {
	c.mu.Lock()
	c.inFlight++
	c.stats.MaxConcurrent = max(c.stats.MaxConcurrent, c.inFlight)
	c.mu.Unlock()
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
	return out
}

func (c *statsCollector) reset() Stats {
	before := c.snapshot()
	c.mu.Lock()
	c.stats = Stats{Requests: map[string]map[int]int64{}}
	c.mu.Unlock()
	return before
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// ResetStats zeroes the request counters and returns what they were.
func (s *Server) ResetStats() Stats { return s.stats.reset() }

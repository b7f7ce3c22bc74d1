package circleci

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPacerSimulatedBadHeaders: two processes against the fake's bucket (25/s)
// whose answers carry bad rate-limit headers, on the virtual clock. None of them
// stalls the sync (at least the pacer's floor, and most of them far more) or
// floods the API (few 429s: the bucket still answers them).
func TestPacerSimulatedBadHeaders(t *testing.T) {
	set := func(kv ...string) func(int, http.Header) {
		return func(_ int, h http.Header) {
			for i := 0; i < len(kv); i += 2 {
				h.Set(kv[i], kv[i+1])
			}
		}
	}
	past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	for _, c := range []struct {
		name    string
		mangle  func(int, http.Header)
		minUsed float64 // the least share of the budget used
	}{
		{"missing", func(_ int, h http.Header) {
			h.Del("RateLimit-Limit")
			h.Del("RateLimit-Remaining")
			h.Del("RateLimit-Reset")
		}, 0.3},
		{"remaining above the limit", set("RateLimit-Remaining", "500"), 0.5},
		{"families that disagree", set("X-RateLimit-Limit", "1000", "X-RateLimit-Remaining", "999"), 0.5},
		{"reset of a year", set("RateLimit-Reset", "31536000"), 0.5},
		{"reset a year ahead (Unix time)", set("RateLimit-Reset", "1830297600"), 0.5},
		{"negative remaining", set("RateLimit-Remaining", "-5"), 0.3},
		{"a bucket of two claimed", set("RateLimit-Limit", "2"), 0.15},
		{"retry-after in the past", func(st int, h http.Header) {
			if st == http.StatusTooManyRequests {
				h.Set("Retry-After", past)
			}
		}, 0.5},
	} {
		r := simulate(fleetRun{budget: 25, instances: 2, callers: 8, dur: 20 * time.Second, mangle: c.mangle})
		t.Logf("%s: %d answered, used %.2f, 429 %.2f%%", c.name, r.ok, r.used, 100*r.share429)
		assert.GreaterOrEqual(t, float64(r.ok), 2*pacerMinRate*20, "%s: never stalls", c.name)
		assert.GreaterOrEqual(t, r.used, c.minUsed, "%s: share of the budget used", c.name)
		assert.Less(t, r.share429, 0.1, "%s: never floods", c.name)
	}
}

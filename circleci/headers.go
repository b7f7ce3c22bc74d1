package circleci

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Rate-limit headers. CircleCI sends one family or the other, depending on the
// service; when both are present the lower value is enforced, so the lower is used.
var (
	remainingHeaders = []string{"RateLimit-Remaining", "X-RateLimit-Remaining"}
	limitHeaders     = []string{"RateLimit-Limit", "X-RateLimit-Limit"}
	resetHeaders     = []string{"RateLimit-Reset", "X-RateLimit-Reset"}
)

// epochThreshold separates a reset given as seconds to wait from one given as a Unix
// time: no window lasts 30 years.
const epochThreshold = 1e9

// rateLimitDelay is the wait a 429 asks for: Retry-After, else the reset headers,
// else 0. The result is clamped to [0, MaxRetryAfter].
func rateLimitDelay(h http.Header, now time.Time) time.Duration {
	if d := retryAfterHeader(h, now); d > 0 {
		return d
	}
	return resetDelay(h, now)
}

// retryAfterHeader parses Retry-After (seconds or an HTTP date, compared with the
// response's Date so that clock skew does not matter).
func retryAfterHeader(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return clampDelay(secs)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	ref := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		ref = d
	}
	return clampDelay(t.Sub(ref).Seconds())
}

// resetDelay parses RateLimit-Reset and X-RateLimit-Reset as seconds to the reset (or
// a Unix time), the longer of the two; 0 when absent.
func resetDelay(h http.Header, now time.Time) time.Duration {
	var longest time.Duration
	for _, name := range resetHeaders {
		v, ok := headerNumber(h, name)
		if !ok {
			continue
		}
		if v >= epochThreshold {
			v = time.Unix(int64(v), 0).Sub(now).Seconds()
		}
		longest = max(longest, clampDelay(v))
	}
	return longest
}

// clampDelay converts seconds to a duration in [0, MaxRetryAfter].
func clampDelay(secs float64) time.Duration {
	switch {
	case math.IsNaN(secs) || secs <= 0:
		return 0
	case secs >= MaxRetryAfter.Seconds():
		return MaxRetryAfter
	}
	return time.Duration(secs * float64(time.Second))
}

// lowestHeader returns the lowest number among the headers present.
func lowestHeader(h http.Header, names []string) (float64, bool) {
	var (
		lowest float64
		found  bool
	)
	for _, name := range names {
		if v, ok := headerNumber(h, name); ok && (!found || v < lowest) {
			lowest, found = v, true
		}
	}
	return lowest, found
}

// headerNumber parses the leading number of a header, accepting the structured forms
// of the IETF RateLimit drafts ("100, 100;w=60" gives 100).
func headerNumber(h http.Header, name string) (float64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if i := strings.IndexAny(v, ",;"); i >= 0 {
		v = strings.TrimSpace(v[:i])
	}
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

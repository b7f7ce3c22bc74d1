package circleci

import (
	"net/http"
	"time"
)

// rateSignal is what one response says about the token's budget, sanitised: the
// remaining count is -1 when unknown (or negative) and never above the limit.
type rateSignal struct {
	limited   bool // answered 429
	limit     float64
	remaining float64
	reset     time.Duration // 0: unknown; at most MaxRetryAfter
}

// readSignal reads the rate-limit headers of a response; when both families are
// present the lower limit and remaining count (the enforced ones) win.
func readSignal(h http.Header, status int, now time.Time) rateSignal {
	s := rateSignal{limited: status == http.StatusTooManyRequests, remaining: -1}
	if l, ok := lowestHeader(h, limitHeaders); ok && l > 0 {
		s.limit = l
	}
	// A negative count is no count: read as 0 it would hold the pace at its floor.
	if r, ok := lowestHeader(h, remainingHeaders); ok && r >= 0 {
		s.remaining = r
		if s.limit > 0 {
			s.remaining = min(s.remaining, s.limit)
		}
	}
	s.reset = resetDelay(h, now)
	return s
}

// minFull damps the excess of small budgets, whose remaining count moves in big steps.
const minFull = 8

// excess is the budget left over the target, half of what a full budget leaves after
// a request, as a share of the budget (-0.5..0.5). Without a limit header the most
// ever seen remaining stands for it.
func (s rateSignal) excess(maxLeft float64) float64 {
	full := s.limit
	if full <= 0 {
		full = maxLeft
	}
	if full <= 0 {
		return -0.5
	}
	return min(max((s.remaining-(full-1)/2)/max(full, minFull), -0.5), 0.5)
}

// startRate is the first pace: what is left spread until the reset (one second when
// none is given), within [1, pacerMaxStart].
func (s rateSignal) startRate() float64 {
	secs := 1.0
	if s.reset > 0 {
		secs = max(s.reset.Seconds(), 1)
	}
	return min(max((s.remaining+1)/secs, 1), pacerMaxStart)
}

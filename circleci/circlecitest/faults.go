package circlecitest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Faults are the misbehaviours the fake can show, each off at its zero value. They
// apply to the API routes only, never to the control API.
type Faults struct {
	// Latency is added to every API request before it is answered.
	Latency time.Duration `json:"latency"`

	// RateLimit, above zero, is a token bucket (requests/s, shared by all tokens) in
	// front of the API: an empty bucket answers 429 with Retry-After and "Rate
	// limited.", and every answer carries RateLimit-* headers.
	RateLimit float64 `json:"rate_limit"`
	// RateBurst is the bucket size (default: RateLimit rounded up, at least 1).
	RateBurst int `json:"rate_burst"`

	// Random429Rate is the probability (0..1) that an API request is answered
	// 429 "Rate limited." with Retry-After: 1, whatever the bucket says.
	Random429Rate float64 `json:"random_429_rate"`
	// Random500Rate is the probability (0..1) that an API request is answered
	// 500 {"message":"Internal server error."}.
	Random500Rate float64 `json:"random_500_rate"`

	// BrokenPipelines is how many older pipelines with workflows (neither expired nor
	// among a project's five newest) have a workflow list that always answers 500.
	BrokenPipelines int `json:"broken_pipelines"`
	// ExpiredPipelines is how many of the oldest pipelines are past retention: listed,
	// but their workflows and jobs answer 404.
	ExpiredPipelines int `json:"expired_pipelines"`
	// MissingUsers is how many referenced users (never a token's own) answer 404.
	MissingUsers int `json:"missing_users"`

	// Corrupt spoils some 200 answers of chosen routes (see Corruption).
	Corrupt []Corruption `json:"corrupt,omitempty"`
}

// MarshalJSON writes Latency as a Go duration string such as "250ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	type plain Faults
	return json.Marshal(struct {
		plain
		Latency string `json:"latency"`
	}{plain(f), f.Latency.String()})
}

// UnmarshalJSON reads Latency as a Go duration string ("250ms") or a number of
// nanoseconds.
func (f *Faults) UnmarshalJSON(b []byte) error {
	type plain Faults
	var v struct {
		plain
		Latency json.RawMessage `json:"latency"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	d, err := parseJSONDuration(v.Latency)
	if err != nil {
		return fmt.Errorf("latency: %w", err)
	}
	*f = Faults(v.plain)
	f.Latency = d
	return nil
}

// parseJSONDuration decodes a duration sent as a string ("1h30m") or as a
// number of nanoseconds. Absent or null is zero.
func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "" {
			return 0, nil
		}
		return time.ParseDuration(s)
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("want a duration string or nanoseconds, got %s", raw)
	}
	return time.Duration(n), nil
}

// normalized returns f with out-of-range values clamped.
func (f Faults) normalized() Faults {
	if f.Latency < 0 {
		f.Latency = 0
	}
	if f.RateLimit < 0 || math.IsNaN(f.RateLimit) {
		f.RateLimit = 0
	}
	if f.RateLimit > 0 && f.RateBurst <= 0 {
		f.RateBurst = int(math.Ceil(f.RateLimit))
	}
	if f.RateBurst < 0 {
		f.RateBurst = 0
	}
	f.Random429Rate = clamp01(f.Random429Rate)
	f.Random500Rate = clamp01(f.Random500Rate)
	f.BrokenPipelines = max(f.BrokenPipelines, 0)
	f.ExpiredPipelines = max(f.ExpiredPipelines, 0)
	f.MissingUsers = max(f.MissingUsers, 0)
	f.Corrupt = normalizeCorruptions(f.Corrupt)
	return f
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	return min(x, 1)
}

// tokenBucket is the rate limiter behind Faults.RateLimit. It runs on the wall
// clock (rate limiting is about real time), unlike the dataset.
type tokenBucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

// rateDecision is what the bucket says about one request.
type rateDecision struct {
	allowed    bool
	limit      int // bucket size
	remaining  int // whole tokens left after this request
	reset      int // seconds until the bucket is full again
	retryAfter int // seconds to wait before retrying (only when !allowed)
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	return &tokenBucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// take refills the bucket up to now and takes one token if there is one.
func (b *tokenBucket) take(now time.Time) rateDecision {
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(b.burst, b.tokens+elapsed*b.rate)
		b.last = now
	}
	d := rateDecision{limit: int(b.burst)}
	if b.tokens >= 1 {
		b.tokens--
		d.allowed = true
	} else {
		d.retryAfter = max(1, int(math.Ceil((1-b.tokens)/b.rate)))
	}
	d.remaining = int(math.Floor(b.tokens))
	d.reset = int(math.Ceil((b.burst - b.tokens) / b.rate))
	return d
}

// faultState is the server's current faults, rate limiter and fault RNGs.
type faultState struct {
	mu     sync.Mutex
	seed   int64
	faults Faults
	bucket *tokenBucket
	rng    *rand.Rand // random 429/500 draws; seeded, so a sequential run repeats
	// corruptSeen counts, per entry of faults.Corrupt, the eligible requests
	// it has seen since the faults were set.
	corruptSeen []int
	// corruptRng draws Corruption.Rate; reseeded whenever the faults are set.
	corruptRng *rand.Rand
}

// faultDecision is what the fault layer does with one API request.
type faultDecision struct {
	latency time.Duration
	rate    *rateDecision // nil when the bucket is off
	status  int           // 0: go on; 429 or 500: answer that
	random  bool          // status comes from the random rates, not the bucket
}

func newFaultState(seed int64, f Faults) *faultState {
	fs := &faultState{seed: seed, rng: rand.New(rand.NewPCG(uint64(seed), 0x6661756c7473))} // "faults"
	fs.set(f)
	return fs
}

// set replaces the faults. The bucket starts full again when its rate or size
// changes.
func (fs *faultState) set(f Faults) Faults {
	f = f.normalized()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	old := fs.faults
	fs.faults = f
	fs.corruptSeen = make([]int, len(f.Corrupt))
	fs.corruptRng = newRand(fs.seed, streamCorrupt)
	switch {
	case f.RateLimit <= 0:
		fs.bucket = nil
	case fs.bucket == nil || old.RateLimit != f.RateLimit || old.RateBurst != f.RateBurst:
		fs.bucket = newTokenBucket(f.RateLimit, f.RateBurst, time.Now())
	}
	return f
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.faults
	f.Corrupt = slices.Clone(f.Corrupt)
	return f
}

// corrupts reports whether some Corruption may apply to route (a Stats route
// key), so that its answer must be held back.
func (fs *faultState) corrupts(route string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, c := range fs.faults.Corrupt {
		if c.Route == AnyRoute || c.Route == route {
			return true
		}
	}
	return false
}

// drawCorruption decides whether the answer a of route to r is corrupted, and
// by which Corruption (see Corruption for the rules).
func (fs *faultState) drawCorruption(route string, r *http.Request, a *answer) (Corruption, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, c := range fs.faults.Corrupt {
		if !c.eligible(route, r, a) {
			continue
		}
		fs.corruptSeen[i]++
		if fs.corruptSeen[i] <= c.First || (c.Rate > 0 && fs.corruptRng.Float64() < c.Rate) {
			return c, true
		}
	}
	return Corruption{}, false
}

// decide draws the fate of one API request.
func (fs *faultState) decide() faultDecision {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d := faultDecision{latency: fs.faults.Latency}
	if fs.bucket != nil {
		rd := fs.bucket.take(time.Now())
		d.rate = &rd
		if !rd.allowed {
			d.status = 429
			return d
		}
	}
	if fs.faults.Random429Rate > 0 || fs.faults.Random500Rate > 0 {
		u := fs.rng.Float64()
		switch {
		case u < fs.faults.Random429Rate:
			d.status, d.random = 429, true
		case u < fs.faults.Random429Rate+fs.faults.Random500Rate:
			d.status, d.random = 500, true
		}
	}
	return d
}

// rateHeaders returns the RateLimit-* headers for a bucket decision.
func (d *rateDecision) headers() map[string]string {
	return map[string]string{
		"RateLimit-Limit":     strconv.Itoa(d.limit),
		"RateLimit-Remaining": strconv.Itoa(d.remaining),
		"RateLimit-Reset":     strconv.Itoa(d.reset),
	}
}

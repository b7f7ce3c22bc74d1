package circlecitest

import (
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// gen wraps the seeded PRNG with the helpers the dataset generator needs.
// Every random choice goes through it, so a seed fixes the whole dataset.
type gen struct{ r *rand.Rand }

// newRand returns a PCG generator for seed on the named stream: streams are
// independent, so fault selection never shifts the data.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// Streams of the seeded PRNG.
const (
	streamData  = 0x64617461 // "data": dataset generation and Advance
	streamRank  = 0x72616e6b // "rank": which pipelines/users faults hit
	streamPages = 0x70616765 // "page": page-token keys
	// streamCorrupt draws Corruption.Rate; restarted whenever faults are set.
	streamCorrupt = 0x636f7272 // "corr"
	// streamEvents draws webhook and event ids, so that the dataset is the same with
	// or without webhooks; streamHookFaults draws delivery duplicates and reordering.
	streamEvents     = 0x65766e74 // "evnt"
	streamHookFaults = 0x686b6674 // "hkft"
)

// uuid returns a random version-4 UUID.
func (g gen) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], g.r.Uint64())
	binary.BigEndian.PutUint64(b[8:], g.r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:16])
	return string(s[:])
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// base58 returns n random base58 characters, like the ids in circleci/… slugs.
func (g gen) base58(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base58Alphabet[g.r.IntN(len(base58Alphabet))]
	}
	return string(b)
}

// hex returns n random lowercase hex digits (a git sha is 40).
func (g gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

// intn returns a number in [0,n), or 0 when n <= 0.
func (g gen) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return g.r.IntN(n)
}

// chance reports true with probability p.
func (g gen) chance(p float64) bool { return g.r.Float64() < p }

// between returns a duration in [lo,hi), truncated to milliseconds.
func (g gen) between(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return (lo + time.Duration(g.r.Int64N(int64(hi-lo)))).Truncate(time.Millisecond)
}

// pick returns a random element of xs.
func pick[T any](g gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// shuffled returns a shuffled copy of xs.
func shuffled[T any](r *rand.Rand, xs []T) []T {
	out := append([]T(nil), xs...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

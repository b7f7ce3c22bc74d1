package circlecitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
)

// Page tokens are opaque and deterministic: base64 of a MAC over the list's scope
// (route, parent, filters, visibility) and the encrypted cursor (the last item's
// created_at and id), so a token works only on its own list and new items never shift
// pages.

// errBadPageToken is returned for a token that is malformed, forged, from
// another seed or from another list.
var errBadPageToken = errors.New("invalid page token")

// cursor is the last item of the previous page.
type cursor struct {
	t  int64  // created_at in unix nanoseconds (pipelines), else 0
	id string // uuid of the item
}

// pager makes and checks page tokens.
type pager struct {
	macKey, encKey []byte
}

func newPager(seed int64) *pager {
	r := newRand(seed, streamPages)
	mk, ek := make([]byte, 32), make([]byte, 32)
	for i := range mk {
		mk[i], ek[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	return &pager{macKey: mk, encKey: ek}
}

func (p *pager) mac(scope string, payload []byte) []byte {
	h := hmac.New(sha256.New, p.macKey)
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write(payload)
	return h.Sum(nil)[:16]
}

func (p *pager) keystream(mac []byte) []byte {
	h := hmac.New(sha256.New, p.encKey)
	h.Write(mac)
	return h.Sum(nil)
}

// encode returns the token for the page after c in the list named by scope.
func (p *pager) encode(scope string, c cursor) string {
	payload := make([]byte, 24)
	binary.BigEndian.PutUint64(payload[:8], uint64(c.t))
	if b, err := hex.DecodeString(strings.ReplaceAll(c.id, "-", "")); err == nil && len(b) == 16 {
		copy(payload[8:], b)
	}
	m := p.mac(scope, payload)
	ks := p.keystream(m)
	out := append([]byte(nil), m...)
	for i, b := range payload {
		out = append(out, b^ks[i])
	}
	return base64.RawStdEncoding.EncodeToString(out)
}

// decode checks a token against scope and returns its cursor.
func (p *pager) decode(scope, token string) (cursor, error) {
	raw, err := base64.RawStdEncoding.DecodeString(token)
	if err != nil || len(raw) != 40 {
		return cursor{}, errBadPageToken
	}
	m, enc := raw[:16], raw[16:]
	ks := p.keystream(m)
	payload := make([]byte, len(enc))
	for i, b := range enc {
		payload[i] = b ^ ks[i]
	}
	if !hmac.Equal(m, p.mac(scope, payload)) {
		return cursor{}, errBadPageToken
	}
	h := hex.EncodeToString(payload[8:])
	id := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	return cursor{t: int64(binary.BigEndian.Uint64(payload[:8])), id: id}, nil
}

// pagePipelines returns the page of src (newest first) after `after` whose items pass
// keep, and the next cursor (nil on the last page).
func pagePipelines(src []*Pipeline, keep func(*Pipeline) bool, after *cursor) ([]*Pipeline, *cursor) {
	start := 0
	if after != nil {
		// First item strictly after the cursor in newest-first order.
		lo, hi := 0, len(src)
		for lo < hi {
			mid := (lo + hi) / 2
			p := src[mid]
			t := p.CreatedAt.UnixNano()
			if t > after.t || (t == after.t && p.ID >= after.id) {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		start = lo
	}
	items := []*Pipeline{}
	for i := start; i < len(src); i++ {
		if !keep(src[i]) {
			continue
		}
		if len(items) == PageSize {
			last := items[len(items)-1]
			return items, &cursor{t: last.CreatedAt.UnixNano(), id: last.ID}
		}
		items = append(items, src[i])
	}
	return items, nil
}

// pageByID returns the page after the item with id after.id, and the next cursor; ok
// is false when that item is not in the list.
func pageByID[T any](items []T, id func(T) string, after *cursor) (page []T, next *cursor, ok bool) {
	start := 0
	if after != nil {
		start = -1
		for i, it := range items {
			if id(it) == after.id {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, nil, false
		}
	}
	end := min(start+PageSize, len(items))
	page = append([]T{}, items[start:end]...)
	if end < len(items) {
		next = &cursor{id: id(items[end-1])}
	}
	return page, next, true
}

package workflows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of ConnectionSyncInput's strings, in bytes. A project slug's bound
// keeps its escaped child workflow ID under Temporal's 1,000-byte ID limit.
const (
	MaxConnectionID = 128
	MaxOrgSlug      = 255
	MaxProjectSlug  = 255
	MaxTokenEnv     = 128
	MaxBaseURL      = 1024
	MaxSince        = 64
)

// MaxResyncRequestBytes bounds a whole resync request, unknown fields included:
// an accepted Update's request is copied into history as sent.
const MaxResyncRequestBytes = 4 << 10

// textProblem says what is wrong with s as a field's text of at most max bytes,
// "" if nothing. It never quotes s: a refused value may be a pasted secret.
// U+FFFD counts as invalid UTF-8: JSON decoding puts it for bad bytes and lone
// surrogates.
func textProblem(s string, max int) string {
	switch {
	case len(s) > max:
		return fmt.Sprintf("is %d bytes, at most %d", len(s), max)
	case !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError):
		return "is not valid UTF-8"
	case strings.ContainsFunc(s, unicode.IsControl):
		return "contains a control character"
	}
	return ""
}

// looksLikeToken tells whether s has the shape of a CircleCI token rather than
// of a variable name: a personal (CCIPAT_) or project (CCIPRJ_) token, or a
// legacy token of 40 hex digits.
func looksLikeToken(s string) bool {
	u := strings.ToUpper(s)
	if strings.HasPrefix(u, "CCIPAT_") || strings.HasPrefix(u, "CCIPRJ_") {
		return true
	}
	return len(s) == 40 && strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// safeKey is k when it is a short plain name, else a description of it: an
// unknown key is echoed, and could be anything.
func safeKey(k string) string {
	if len(k) <= 32 && !looksLikeToken(k) && strings.Trim(strings.ToLower(k), "abcdefghijklmnopqrstuvwxyz0123456789_") == "" {
		return fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("of %d bytes", len(k))
}

// duplicateKey returns a key that an object of the JSON text b names twice, at
// any depth: readers that keep the first and readers that keep the last
// would see two different inputs.
func duplicateKey(b []byte) (string, bool) {
	type frame struct {
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				f := &frame{}
				if t == '{' {
					f = &frame{keys: map[string]bool{}, wantKey: true}
				}
				stack = append(stack, f)
				continue
			}
			stack = stack[:len(stack)-1]
			if top = nil; len(stack) > 0 {
				top = stack[len(stack)-1]
			}
		case string:
			if top != nil && top.wantKey {
				if top.keys[t] {
					return t, true
				}
				top.keys[t], top.wantKey = true, false
				continue
			}
		}
		if top != nil && top.keys != nil {
			top.wantKey = true
		}
	}
}

// UnmarshalJSON decodes a resync request and notes its size for Validate.
func (r *ResyncRequest) UnmarshalJSON(b []byte) error {
	type plain ResyncRequest
	err := json.Unmarshal(b, (*plain)(r))
	r.size = len(b)
	return err
}

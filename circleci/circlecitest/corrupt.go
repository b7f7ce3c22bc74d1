package circlecitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// CorruptionKind is how a Corruption spoils an answer.
type CorruptionKind string

// Corruption kinds. Each replaces a 200 answer the fake was about to send.
const (
	// CorruptMalformedJSON answers a whole body that is not valid JSON.
	CorruptMalformedJSON CorruptionKind = "malformed_json"
	// CorruptTruncated sends half the body under a full Content-Length, then closes.
	CorruptTruncated CorruptionKind = "truncated"
	// CorruptOversize answers valid JSON of at least Corruption.Bytes.
	CorruptOversize CorruptionKind = "oversize"
	// CorruptWrongTypes gives a field the wrong type: a list's first number becomes
	// "seven" (an empty list's "items" an object), an entity's "id" 7.
	CorruptWrongTypes CorruptionKind = "wrong_types"
	// CorruptHTMLError answers a proxy's 502 HTML page (nginx's "502 Bad Gateway").
	CorruptHTMLError CorruptionKind = "html_error"
	// CorruptPageTokenCycle answers page-token T with next_page_token T again (A→A);
	// only requests with a page-token are eligible.
	CorruptPageTokenCycle CorruptionKind = "page_token_cycle"
)

// CorruptionKinds lists every kind, in a stable order.
var CorruptionKinds = []CorruptionKind{
	CorruptMalformedJSON, CorruptTruncated, CorruptOversize, CorruptWrongTypes, CorruptHTMLError, CorruptPageTokenCycle,
}

// OversizeBytes, 9 MiB, is above the client's 8 MiB cap (circleci.DefaultMaxBodyBytes).
const OversizeBytes = 9 << 20

// AnyRoute as Corruption.Route matches every CircleCI API route.
const AnyRoute = "*"

// Corruption spoils some 200 answers of one route: the First eligible requests since
// the faults were set, else at Rate from a seeded stream (docs/design.md, "Faults",
// says which requests are eligible). The first matching entry that fires applies.
type Corruption struct {
	// Route is a Stats route key, a short name of CorruptionRoutes, or AnyRoute.
	Route string `json:"route"`
	// Kind is what happens to the answer.
	Kind CorruptionKind `json:"kind"`
	// Rate is the probability (0..1) that an eligible request past First is corrupted.
	Rate float64 `json:"rate,omitempty"`
	// First is how many eligible requests since the faults were set are corrupted.
	First int `json:"first,omitempty"`
	// Bytes is the least size of a CorruptOversize body (default OversizeBytes).
	Bytes int `json:"bytes,omitempty"`
	// Match, when set, limits it to requests whose path contains it (an id or a slug).
	Match string `json:"match,omitempty"`
}

// CorruptionRoutes maps Corruption.Route's short names to Stats route keys.
var CorruptionRoutes = routesBy(func(r apiRoute) (string, string, bool) { return r.short, r.key, true })

// listRoutes are the routes that answer {"items":[…],"next_page_token":…}.
var listRoutes = routesBy(func(r apiRoute) (string, bool, bool) { return r.key, true, r.list })

// routesBy maps the routes kept by f from the key f gives them to their value.
func routesBy[V any](f func(apiRoute) (string, V, bool)) map[string]V {
	m := map[string]V{}
	for _, r := range apiRoutes {
		if k, v, keep := f(r); keep {
			m[k] = v
		}
	}
	return m
}

// canonicalRoute returns the Stats route key (or AnyRoute) Corruption.Route names.
func canonicalRoute(r string) (string, bool) {
	if r == AnyRoute {
		return r, true
	}
	if key, ok := CorruptionRoutes[r]; ok {
		return key, true
	}
	for _, key := range CorruptionRoutes {
		if key == r {
			return key, true
		}
	}
	return "", false
}

// validKind reports whether k is one of CorruptionKinds.
func validKind(k CorruptionKind) bool {
	for _, known := range CorruptionKinds {
		if k == known {
			return true
		}
	}
	return false
}

// UnmarshalJSON refuses an unknown route or kind, so that a typo answers 400.
func (c *Corruption) UnmarshalJSON(b []byte) error {
	type plain Corruption
	var v plain
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if _, ok := canonicalRoute(v.Route); !ok {
		return fmt.Errorf("corruption: unknown route %q (want a Stats route key, %q, or a short name such as \"workflow_jobs\")", v.Route, AnyRoute)
	}
	if !validKind(v.Kind) {
		return fmt.Errorf("corruption: unknown kind %q (want one of %v)", v.Kind, CorruptionKinds)
	}
	*c = Corruption(v)
	return nil
}

// normalizeCorruptions returns cs with Stats route keys and clamped numbers, dropping
// entries of unknown route or kind.
func normalizeCorruptions(cs []Corruption) []Corruption {
	if len(cs) == 0 {
		return nil
	}
	out := make([]Corruption, 0, len(cs))
	for _, c := range cs {
		key, ok := canonicalRoute(c.Route)
		if !ok || !validKind(c.Kind) {
			continue
		}
		c.Route = key
		c.Rate = clamp01(c.Rate)
		c.First = max(c.First, 0)
		c.Bytes = max(c.Bytes, 0)
		out = append(out, c)
	}
	return out
}

// answer is a response held back so that a Corruption can change it.
type answer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newAnswer() *answer { return &answer{header: http.Header{}} }

// Header returns the held-back header.
func (a *answer) Header() http.Header { return a.header }

// WriteHeader records the first status.
func (a *answer) WriteHeader(code int) {
	if a.status == 0 {
		a.status = code
	}
}

// Write records an implicit 200 and keeps the bytes.
func (a *answer) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.status = http.StatusOK
	}
	return a.body.Write(b)
}

// isJSON reports a JSON answer.
func (a *answer) isJSON() bool {
	return strings.HasPrefix(a.header.Get("Content-Type"), "application/json")
}

// eligible reports whether c can apply to answer a of route to request r.
func (c *Corruption) eligible(route string, r *http.Request, a *answer) bool {
	if r.Method != http.MethodGet || a.status != http.StatusOK || (c.Route != AnyRoute && c.Route != route) ||
		(c.Match != "" && !strings.Contains(r.URL.Path, c.Match)) {
		return false
	}
	switch c.Kind {
	case CorruptHTMLError:
		return true
	case CorruptPageTokenCycle:
		return a.isJSON() && listRoutes[route] && r.URL.Query().Get("page-token") != ""
	}
	return a.isJSON()
}

// send writes a to w unchanged.
func (a *answer) send(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body.Bytes())
}

// sendCorrupted writes a to w spoilt by kind c.Kind.
func (a *answer) sendCorrupted(w http.ResponseWriter, r *http.Request, c Corruption) {
	body := a.body.Bytes()
	switch c.Kind {
	case CorruptHTMLError:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(badGatewayPage))
		return
	case CorruptTruncated:
		for k, v := range a.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(a.status)
		_, _ = w.Write(body[:len(body)/2])
		// net/http closes the connection of a response shorter than its
		// Content-Length once the handler returns; flush the half now.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return
	case CorruptMalformedJSON:
		body = malformed(body)
	case CorruptOversize:
		body = oversize(body, c.Bytes)
	case CorruptWrongTypes:
		body = wrongTypes(body)
	case CorruptPageTokenCycle:
		body = cyclePageToken(body, r.URL.Query().Get("page-token"))
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	// No Content-Length: the body's last byte leaves only once Stats counted the request.
	w.Header().Del("Content-Length")
	w.WriteHeader(a.status)
	_, _ = w.Write(body)
}

// badGatewayPage is what nginx answers when its upstream fails.
const badGatewayPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n" +
	"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"

// malformed puts a stray comma after the opening bracket of body.
func malformed(body []byte) []byte {
	b := bytes.TrimLeft(body, " \t\r\n")
	if len(b) == 0 {
		return []byte("{,}")
	}
	return append([]byte{b[0], ','}, b[1:]...)
}

// oversize pads body to at least n bytes (default OversizeBytes), still valid JSON.
func oversize(body []byte, n int) []byte {
	if n <= 0 {
		n = OversizeBytes
	}
	b := bytes.TrimSpace(body)
	pad := max(n-len(b), 0)
	if len(b) > 0 && b[0] == '{' {
		rest := b[1:]
		sep := ","
		if len(bytes.TrimSpace(rest)) > 0 && bytes.TrimSpace(rest)[0] == '}' {
			sep = ""
		}
		out := make([]byte, 0, len(b)+pad+16)
		out = append(out, `{"_padding":"`...)
		out = append(out, bytes.Repeat([]byte("x"), pad)...)
		out = append(out, '"')
		out = append(out, sep...)
		return append(out, rest...)
	}
	return append(append([]byte{}, b...), bytes.Repeat([]byte(" "), pad)...)
}

// wrongTypes gives one field of body the wrong type (see CorruptWrongTypes).
func wrongTypes(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return malformed(body)
	}
	switch t := v.(type) {
	case map[string]any:
		if items, ok := t["items"].([]any); ok {
			first, _ := firstObject(items)
			if field := numericField(first); field != "" {
				first[field] = "seven"
			} else {
				obj := map[string]any{}
				for i, it := range items {
					obj[strconv.Itoa(i)] = it
				}
				t["items"] = obj
			}
		} else {
			t["id"] = 7
		}
	case []any:
		v = map[string]any{"items": t}
	default:
		v = map[string]any{"id": 7}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return malformed(body)
	}
	return out
}

// firstObject returns the first item of items if it is an object.
func firstObject(items []any) (map[string]any, bool) {
	if len(items) == 0 {
		return nil, false
	}
	m, ok := items[0].(map[string]any)
	return m, ok
}

// numericField returns the first field CorruptWrongTypes spoils that item has, or "".
func numericField(item map[string]any) string {
	for _, f := range []string{"number", "pipeline_number", "job_number", "dependencies"} {
		if _, ok := item[f]; ok {
			return f
		}
	}
	return ""
}

// cyclePageToken sets the next_page_token of a list body to token.
func cyclePageToken(body []byte, token string) []byte {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(body, &v); err != nil {
		return body
	}
	t, _ := json.Marshal(token)
	v["next_page_token"] = t
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}

package codec

import (
	"bytes"
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
)

// Codec server bounds (see HandlerOptions): memory stays near DefaultMaxInFlight
// times a few request bodies.
const (
	DefaultMaxBodyBytes = 4 << 20
	DefaultMaxPayloads  = 1000
	DefaultMaxInFlight  = 4
	DefaultQueueWait    = 10 * time.Second
)

// HandlerOptions tune NewHTTPHandler. The zero value serves any namespace,
// without authentication, to clients that send no Origin (the CLI).
type HandlerOptions struct {
	// AllowedOrigins are the Web UI origins allowed, with credentials (else 403).
	AllowedOrigins []string
	// AuthToken, when set, must come as "Authorization: Bearer <AuthToken>" (else 401).
	AuthToken string
	// Namespaces, when set, are the only ones served (path or X-Namespace).
	Namespaces []string
	// MaxBodyBytes and MaxPayloads cap a request (else 413).
	MaxBodyBytes int64
	MaxPayloads  int
	// MaxInFlight caps the requests served at once; the others wait up to
	// QueueWait, unread, then get 503.
	MaxInFlight int
	QueueWait   time.Duration
}

// NewHTTPHandler returns a Temporal codec server for c (POST [/{namespace}]/encode
// and /decode, as the CLI and the Web UI call it). Anyone who reaches it and
// passes AuthToken can decrypt every payload.
func NewHTTPHandler(c *Codec, opts HandlerOptions) http.Handler {
	opts.MaxBodyBytes = cmp.Or(max(opts.MaxBodyBytes, 0), DefaultMaxBodyBytes)
	opts.MaxPayloads = cmp.Or(max(opts.MaxPayloads, 0), DefaultMaxPayloads)
	opts.MaxInFlight = cmp.Or(max(opts.MaxInFlight, 0), DefaultMaxInFlight)
	opts.QueueWait = cmp.Or(max(opts.QueueWait, 0), DefaultQueueWait)
	return &handler{opts: opts, codec: converter.NewPayloadCodecHTTPHandler(c),
		slots: make(chan struct{}, opts.MaxInFlight)}
}

// handler checks and bounds a request, then hands it to the SDK's codec handler.
type handler struct {
	opts  HandlerOptions
	codec http.Handler
	slots chan struct{}
}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" {
		if !slices.Contains(h.opts.AllowedOrigins, origin) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization,Content-Type,X-Namespace")
		w.Header().Set("Access-Control-Allow-Methods", "POST,OPTIONS")
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusOK)
		return
	}
	if h.opts.AuthToken != "" && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	namespace, ok := route(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if namespace == "" {
		namespace = r.Header.Get("X-Namespace")
	}
	if len(h.opts.Namespaces) > 0 && !slices.Contains(h.opts.Namespaces, namespace) {
		http.Error(w, "namespace "+strconv.Quote(namespace)+" not served", http.StatusForbidden)
		return
	}
	if r.ContentLength > h.opts.MaxBodyBytes {
		http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
		return
	}
	if !h.acquire(r) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "codec server busy: retry", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-h.slots }()
	h.serveBounded(w, r)
}

// acquire waits up to QueueWait for a slot, before the body is read.
func (h *handler) acquire(r *http.Request) bool {
	t := time.NewTimer(h.opts.QueueWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-r.Context().Done():
	}
	return false
}

// serveBounded reads the body, refuses too many payloads, and serves the rest.
func (h *handler) serveBounded(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, h.opts.MaxBodyBytes+1))
	if err != nil {
		http.Error(w, "read the request body", http.StatusBadRequest)
		return
	}
	if int64(len(body)) > h.opts.MaxBodyBytes {
		http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
		return
	}
	if tooManyPayloads(body, h.opts.MaxPayloads) {
		http.Error(w, "more than "+strconv.Itoa(h.opts.MaxPayloads)+" payloads in one request", http.StatusRequestEntityTooLarge)
		return
	}
	r = r.Clone(r.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.codec.ServeHTTP(w, r)
}

// tooManyPayloads tells whether the body's "payloads" hold more than n
// elements, skimming them unbuilt; the SDK refuses a malformed body.
func tooManyPayloads(body []byte, n int) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	var skip json.RawMessage
	count := 0
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return false
		}
		if key != "payloads" {
			if dec.Decode(&skip) != nil {
				return false
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('[') {
			return false
		}
		for dec.More() {
			if count++; count > n {
				return true
			}
			if dec.Decode(&skip) != nil {
				return false
			}
		}
		if _, err := dec.Token(); err != nil {
			return false
		}
	}
	return false
}

// authorized checks the bearer token in constant time.
func (h *handler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(h.opts.AuthToken)) == 1
}

// route parses [/{namespace}]/encode and /decode ("" namespace when none).
func route(path string) (namespace string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	switch last := parts[len(parts)-1]; {
	case last != "encode" && last != "decode":
		return "", false
	case len(parts) == 1:
		return "", true
	case len(parts) == 2 && parts[0] != "":
		return parts[0], true
	}
	return "", false
}

package circleci

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// httpCase is one answer the FuzzPageOverHTTP server sends.
type httpCase struct {
	status      int
	contentType string
	retryAfter  string
	remaining   string
	body        []byte
	cut         int // when in (0, len(body)): send only body[:cut] under a Content-Length of len(body)
}

// fuzzStatuses are the statuses FuzzPageOverHTTP picks from.
var fuzzStatuses = []int{200, 201, 204, 301, 400, 401, 403, 404, 410, 422, 429, 500, 502, 503}

// wantClass is the class a failed request answered status gets; cut reports
// a 2xx body cut short.
func wantClass(status int, cut bool) Class {
	switch {
	case status >= 200 && status <= 299 && cut:
		return ClassTransport
	case status >= 200 && status <= 299:
		return ClassDecode
	}
	return classForStatus(status)
}

// FuzzPageOverHTTP sends arbitrary answers (status, content type, Retry-After
// and RateLimit-Remaining headers, body, possibly cut short under its
// Content-Length) to the client's job list operation over real HTTP, and
// checks the whole path: no panic; either a page whose items all have an id,
// valid Raw JSON and the workflow id, or an *Error of the class the status
// calls for, naming the route, with a short one-line message, a RetryAfter
// within bounds, and never the token (which seeds echo in the body).
func FuzzPageOverHTTP(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(uint8(0), "application/json", "", "", []byte(s), uint16(0))
	}
	f.Add(uint8(0), "application/json", "", "", []byte(jobPageJSON), uint16(40))
	f.Add(uint8(10), "text/plain; charset=utf-8", "1", "0", []byte("Rate limited."), uint16(0))
	f.Add(uint8(10), "", "Wed, 21 Oct 2015 07:28:00 GMT", "", []byte(""), uint16(0))
	f.Add(uint8(12), "text/html", "", "", []byte(badGatewayHTML), uint16(0))
	f.Add(uint8(7), "application/json", "", "", []byte(`{"message":"`+testToken+` not found"}`), uint16(0))
	f.Add(uint8(0), "application/json", "", "", []byte(`{"items":[{"id":"j","requires":{"`+testToken+`":7}}]}`), uint16(0))
	f.Add(uint8(0), "application/json", "", "", []byte(`{"items":[{"id":"j"}],"next_page_token":"`+testToken+`"}`), uint16(0))

	var current atomic.Pointer[httpCase]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hc := current.Load()
		if hc.contentType != "" {
			w.Header().Set("Content-Type", hc.contentType)
		}
		if hc.retryAfter != "" {
			w.Header().Set("Retry-After", hc.retryAfter)
		}
		if hc.remaining != "" {
			w.Header().Set("RateLimit-Remaining", hc.remaining)
			w.Header().Set("RateLimit-Reset", hc.retryAfter)
		}
		body := hc.body
		if hc.cut > 0 && hc.cut < len(body) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			body = body[:hc.cut]
		}
		w.WriteHeader(hc.status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	hc := NewDefaultHTTPClient()
	f.Cleanup(hc.CloseIdleConnections)

	f.Fuzz(func(t *testing.T, statusIdx uint8, contentType, retryAfter, remaining string, body []byte, cut uint16) {
		for _, h := range []string{contentType, retryAfter, remaining} {
			if !validHeaderValue(h) || strings.TrimSpace(h) != h {
				return
			}
		}
		status := fuzzStatuses[int(statusIdx)%len(fuzzStatuses)]
		if status == http.StatusNoContent || status == http.StatusMovedPermanently {
			body = nil // net/http sends no body with these
		}
		c := &httpCase{status: status, contentType: contentType, retryAfter: retryAfter, remaining: remaining,
			body: body, cut: int(cut)}
		isCut := c.cut > 0 && c.cut < len(body)
		current.Store(c)

		// A limiter of its own: a 429 here pauses it, which must not hold the
		// next case.
		lim := NewLimiter(LimiterOptions{RequestsPerSecond: 1e9, Burst: 1, MaxConcurrent: 1})
		cl, err := New(Options{BaseURL: srv.URL, Token: testToken, Limiter: lim, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		const wf = "wf-1"
		p, err := cl.WorkflowJobsPage(ctx, wf, "tok")
		if err == nil {
			if status < 200 || status > 299 || isCut {
				t.Fatalf("status %d (cut %t) gave a page", status, isCut)
			}
			if p.Items == nil {
				t.Fatal("nil Items")
			}
			for _, j := range p.Items {
				if j.ID == "" || j.WorkflowID != wf || !json.Valid(j.Raw) {
					t.Fatalf("bad job %+v", j)
				}
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%T is not an *Error: %v", err, err)
		}
		if got, want := e.Class, wantClass(status, isCut); got != want {
			t.Fatalf("status %d (cut %t): class %s, want %s: %v", status, isCut, got, want, e)
		}
		if e.Route != RouteWorkflowJobs || e.Method != http.MethodGet || !e.Continuation {
			t.Fatalf("incomplete error %#v", e)
		}
		if e.StatusCode != status {
			t.Fatalf("status %d, error says %d", status, e.StatusCode)
		}
		if n := utf8.RuneCountInString(e.Message); n > maxMessageRunes || !utf8.ValidString(e.Message) ||
			strings.ContainsAny(e.Message, "\r\n") {
			t.Fatalf("bad message %q", e.Message)
		}
		if e.RetryAfter < 0 || e.RetryAfter > MaxRetryAfter {
			t.Fatalf("RetryAfter %s", e.RetryAfter)
		}
		if status != http.StatusTooManyRequests && status < 500 && e.RetryAfter != 0 {
			t.Fatalf("RetryAfter %s on %d", e.RetryAfter, status)
		}
		for _, s := range []string{e.Error(), e.Message} {
			if strings.Contains(s, testToken) {
				t.Fatalf("token in %q", s)
			}
		}
		if until := lim.PausedUntil(); until.After(time.Now().Add(MaxRetryAfter + time.Minute)) {
			t.Fatalf("limiter paused until %s", until)
		}
	})
}

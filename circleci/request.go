package circleci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// request describes one API call.
type request struct {
	method string
	route  string     // route template, for errors and metrics
	path   string     // escaped path, starting with "/api/"
	query  url.Values // nil for none
	body   []byte     // JSON request body; nil for none
}

// continuation reports whether the request carries a page token.
func (r *request) continuation() bool { return r.query.Get(paramPageToken) != "" }

// newError starts an *Error for r.
func (r *request) newError(class Class) *Error {
	return &Error{Class: class, Method: r.method, Route: r.route, Continuation: r.continuation()}
}

// response is a fully read 2xx response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// get sends r, once, and decodes a 2xx body with decode. Any failure is an *Error.
func get[T any](ctx context.Context, c *Client, r *request, decode func([]byte) (T, error)) (T, error) {
	var zero T
	resp, err := c.do(ctx, r)
	if err != nil {
		return zero, err
	}
	return decodeResponse(c, r, resp, decode)
}

// decodeResponse decodes a 2xx body, turning a failure into a ClassDecode *Error.
func decodeResponse[T any](c *Client, r *request, resp *response, decode func([]byte) (T, error)) (T, error) {
	v, err := decode(resp.body)
	if err != nil {
		var zero T
		e := r.newError(ClassDecode)
		e.StatusCode = resp.status
		var df *decodeFailure
		if errors.As(err, &df) {
			e.Message, e.Err = df.reason, df.err
		} else {
			e.Message, e.Err = "cannot decode the response", err
		}
		if e.Err != nil {
			e.Err = c.redactErr(e.Err)
		}
		return zero, e
	}
	return v, nil
}

// do waits for the limiter, sends r and reads the response. It returns the 2xx
// response, or an *Error for a transport failure or a non-2xx status.
func (c *Client) do(ctx context.Context, r *request) (*response, error) {
	if ctx == nil {
		return nil, c.transportError(r, 0, errors.New("nil context"), "")
	}
	release, err := c.acquire(ctx, r)
	if err != nil {
		return nil, err
	}
	defer release()

	req, err := c.newHTTPRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	hresp, err := c.http.Do(req)
	if err != nil {
		c.observer.ObserveRequest(r.route, r.method, 0, time.Since(start))
		recordSent(ctx, 0)
		return nil, c.transportError(r, 0, unwrapURLError(err), "")
	}
	ok := hresp.StatusCode >= 200 && hresp.StatusCode <= 299
	limit := c.maxBody
	if !ok {
		limit = min(limit, maxErrorBodyBytes)
	}
	body, over, readErr := readBody(hresp.Body, limit)
	c.observer.ObserveRequest(r.route, r.method, hresp.StatusCode, time.Since(start))
	recordSent(ctx, hresp.StatusCode)

	now := time.Now()
	var e *Error
	if !ok {
		e = c.statusError(r, hresp, body, now)
	}
	c.limiter.observe(hresp.Header, hresp.StatusCode, e.retryAfter(), now)

	switch {
	case e != nil:
		return nil, e
	case readErr != nil:
		return nil, c.transportError(r, hresp.StatusCode, readErr, "reading the response body")
	case over:
		e := r.newError(ClassDecode)
		e.StatusCode = hresp.StatusCode
		e.Message = fmt.Sprintf("response body exceeds the %d-byte limit", limit)
		return nil, e
	}
	return &response{status: hresp.StatusCode, header: hresp.Header, body: body}, nil
}

// acquire waits for the limiter and records the wait; a 429 pause of the token that
// outlasts the deadline is a rate limit, to be retried after it.
func (c *Client) acquire(ctx context.Context, r *request) (release func(), err error) {
	waitStart := time.Now()
	endWait := requestStats(ctx).beginWait(waitStart)
	release, err = c.limiter.acquire(ctx)
	endWait()
	if err != nil {
		if pe, ok := errors.AsType[*pausedError](err); ok {
			e := r.newError(ClassRateLimited)
			e.RetryAfter = pe.remaining
			e.Message = "the token's pause after a 429 outlasts the deadline"
			e.Err = pe
			return nil, e
		}
		return nil, c.transportError(r, 0, err, "waiting for the rate limiter")
	}
	c.recordWait(ctx, r.route, time.Since(waitStart))
	return release, nil
}

// newHTTPRequest builds r's HTTP request with the token, JSON and User-Agent headers.
func (c *Client) newHTTPRequest(ctx context.Context, r *request) (*http.Request, error) {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, c.transportError(r, 0, err, "building the request")
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(tokenHeader, c.cred.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// readBody reads at most limit bytes of rc and closes it; over reports a longer body.
func readBody(rc io.ReadCloser, limit int64) (body []byte, over bool, err error) {
	defer rc.Close()
	body, err = io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > limit {
		_, _ = io.CopyN(io.Discard, rc, 64<<10)
		return body[:limit], true, nil
	}
	return body, false, nil
}

// transportError is a ClassTransport *Error with cause err.
func (c *Client) transportError(r *request, status int, err error, doing string) *Error {
	e := r.newError(ClassTransport)
	e.StatusCode = status
	e.Message = doing
	e.Err = c.redactErr(err)
	return e
}

// statusError classifies a non-2xx response.
func (c *Client) statusError(r *request, resp *http.Response, body []byte, now time.Time) *Error {
	e := r.newError(classForStatus(resp.StatusCode))
	e.StatusCode = resp.StatusCode
	e.Message = errorMessage(resp.StatusCode, resp.Header.Get("Content-Type"), body, c.redact)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.RetryAfter = rateLimitDelay(resp.Header, now)
	case resp.StatusCode >= 500:
		e.RetryAfter = retryAfterHeader(resp.Header, now)
	}
	return e
}

// classForStatus maps a non-2xx HTTP status to a Class.
func classForStatus(status int) Class {
	switch {
	case status == http.StatusUnauthorized:
		return ClassUnauthorized
	case status == http.StatusForbidden:
		return ClassForbidden
	case status == http.StatusNotFound || status == http.StatusGone:
		return ClassNotFound
	case status == http.StatusTooManyRequests:
		return ClassRateLimited
	case status >= 500:
		return ClassServer
	default:
		return ClassBadRequest
	}
}

// unwrapURLError drops the *url.Error layer of an http.Client error: its text repeats
// the whole URL, which the Error already names by route.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

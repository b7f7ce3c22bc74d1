package circleci

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Class is the kind of an *Error, as far as deciding to retry, skip or stop needs.
type Class string

// Error classes.
const (
	// ClassUnauthorized is HTTP 401: a missing, invalid or expired token. Not retryable.
	ClassUnauthorized Class = "unauthorized"
	// ClassForbidden is HTTP 403 (also some non-user tokens on /me). Not retryable.
	ClassForbidden Class = "forbidden"
	// ClassNotFound is HTTP 404 (or 410). See Error.NotFoundKind. Not retryable.
	ClassNotFound Class = "not_found"
	// ClassRateLimited is HTTP 429. Retryable after Error.RetryAfter.
	ClassRateLimited Class = "rate_limited"
	// ClassBadRequest is another 4xx (or unfollowed 3xx), or an argument rejected before
	// any request (StatusCode 0). Not retryable.
	ClassBadRequest Class = "bad_request"
	// ClassServer is HTTP 5xx. Retryable.
	ClassServer Class = "server"
	// ClassDecode is a 2xx body that cannot be used (not JSON, wrong types, no id, too
	// big). Not retryable: the same answer would come again.
	ClassDecode Class = "decode"
	// ClassTransport is a request without a complete response, including a context
	// ended while waiting for the limiter. Retryable.
	ClassTransport Class = "transport"
	// ClassPagination is a listing whose next_page_token repeats one already used
	// (A→A, A→B→A): it would loop forever. Not retryable.
	ClassPagination Class = "pagination"
)

// NotFoundKind tells apart what a 404 means, which depends on the route.
type NotFoundKind string

// Kinds of ClassNotFound errors.
const (
	// NotFoundProject is a 404 on a /project/{project-slug} route: the project is gone
	// or not visible, or the token is invalid (CircleCI answers 404, not 401, there).
	NotFoundProject NotFoundKind = "project_missing"
	// NotFoundExpired is a 404 on a pipeline's workflows, a workflow's jobs or a job's details
	// or tests: past retention (or, for a job, a number CircleCI does not know).
	NotFoundExpired NotFoundKind = "expired"
	// NotFoundPageToken is a 404 on a request with a page token: restart the listing
	// later; the entity is not missing.
	NotFoundPageToken NotFoundKind = "stale_page_token"
	// NotFoundWorkflowName is a 404 on a workflow name's Insights runs: no workflow
	// of that name (renamed, or never run); the project answers "Project not found".
	NotFoundWorkflowName NotFoundKind = "workflow_name_missing"
	// NotFoundEntity is any other 404: the entity does not exist or is not visible.
	NotFoundEntity NotFoundKind = "not_found"
)

// Error is the error of every operation and iterator; its text never holds the token.
type Error struct {
	// Class is the kind of failure.
	Class Class
	// StatusCode is the HTTP status, 0 when no response was received.
	StatusCode int
	// Message is CircleCI's message, or a short reason for ClassDecode, ClassTransport
	// and ClassPagination. Never the whole body.
	Message string
	// Method is the HTTP method.
	Method string
	// Route is the route template (RouteProjectPipelines): never an id, slug or token.
	Route string
	// RetryAfter is how long CircleCI asked to wait (Retry-After, else the reset
	// headers for a 429), at most MaxRetryAfter; 0 when unknown.
	RetryAfter time.Duration
	// Continuation reports that the request carried a page token.
	Continuation bool
	// Err is the underlying cause, for ClassTransport and ClassDecode.
	Err error
}

// MaxRetryAfter clamps Error.RetryAfter and limiter pauses: CircleCI does not
// document the semantics of its reset headers, so absurd values are cut short.
const MaxRetryAfter = 5 * time.Minute

// Error describes the failure with its route, class and status, and CircleCI's
// message.
func (e *Error) Error() string {
	if e == nil {
		return "circleci: <nil>"
	}
	var b strings.Builder
	b.WriteString("circleci: ")
	if e.Method != "" || e.Route != "" {
		b.WriteString(strings.TrimSpace(e.Method + " " + e.Route))
		b.WriteString(": ")
	}
	b.WriteString(string(e.Class))
	if e.StatusCode != 0 || e.RetryAfter > 0 {
		b.WriteString(" (")
		if e.StatusCode != 0 {
			fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		}
		if e.RetryAfter > 0 {
			if e.StatusCode != 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "retry after %s", e.RetryAfter)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		if msg := e.Err.Error(); msg != e.Message {
			b.WriteString(": ")
			b.WriteString(msg)
		}
	}
	return b.String()
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// Retryable reports whether the same request may succeed later: true for
// ClassRateLimited (after RetryAfter), ClassServer and ClassTransport.
func (e *Error) Retryable() bool {
	if e == nil {
		return false
	}
	switch e.Class {
	case ClassRateLimited, ClassServer, ClassTransport:
		return true
	}
	return false
}

// ConnectionErrorCode maps a credential problem to a connection status code:
// "invalid_credentials" (401), "invalid_permissions" (403), else "".
func (e *Error) ConnectionErrorCode() string {
	if e == nil {
		return ""
	}
	switch e.Class {
	case ClassUnauthorized:
		return "invalid_credentials"
	case ClassForbidden:
		return "invalid_permissions"
	}
	return ""
}

// NotFoundKind says what a ClassNotFound error means on its route ("" for other
// classes).
func (e *Error) NotFoundKind() NotFoundKind {
	if e == nil || e.Class != ClassNotFound {
		return ""
	}
	switch {
	case e.Continuation:
		return NotFoundPageToken
	case e.Route == RoutePipelineWorkflow || e.Route == RouteWorkflowJobs:
		return NotFoundExpired
	case e.Route == RouteJobDetails || e.Route == RouteJobTests:
		// A job past retention or a number CircleCI does not know, unless the
		// project itself is missing.
		if strings.EqualFold(e.Message, "Project not found") {
			return NotFoundProject
		}
		return NotFoundExpired
	case e.Route == RouteProject || strings.HasPrefix(e.Route, RouteProject+"/"):
		return NotFoundProject
	case e.Route == RouteInsightsWorkflows || e.Route == RouteInsightsRuns:
		if e.Route == RouteInsightsRuns && !strings.EqualFold(e.Message, "Project not found") {
			return NotFoundWorkflowName
		}
		return NotFoundProject
	}
	return NotFoundEntity
}

// Expired reports a 404 on a pipeline's workflow list or a workflow's job list: the
// data is past CircleCI's retention.
func (e *Error) Expired() bool { return e.NotFoundKind() == NotFoundExpired }

// ProjectMissing reports a 404 on a /project/{project-slug} route: the project is
// gone, renamed, not visible to the token, or the token is invalid.
func (e *Error) ProjectMissing() bool { return e.NotFoundKind() == NotFoundProject }

// retryAfter is RetryAfter, 0 for a nil *Error.
func (e *Error) retryAfter() time.Duration {
	if e == nil {
		return 0
	}
	return e.RetryAfter
}

// AsError finds the first *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e, true
	}
	return nil, false
}

// IsClass reports whether err's chain holds an *Error of class c.
func IsClass(err error, c Class) bool {
	e, ok := AsError(err)
	return ok && e.Class == c
}

// ClassOf returns the class of the first *Error in err's chain, or "" if none.
func ClassOf(err error) Class {
	if e, ok := AsError(err); ok {
		return e.Class
	}
	return ""
}

// IsRetryable reports whether err's chain holds a retryable *Error.
func IsRetryable(err error) bool {
	e, ok := AsError(err)
	return ok && e.Retryable()
}

// invalidArgument is a ClassBadRequest error for an argument rejected before any
// request is sent.
func invalidArgument(method, route, msg string) *Error {
	return &Error{Class: ClassBadRequest, Method: method, Route: route, Message: msg}
}

package activities

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/store"
)

// Error types of the ApplicationErrors the activities return. They are stable: the
// workflows, retry policies and users match on them.
const (
	// ErrInvalidInput: the input is malformed (non-retryable).
	ErrInvalidInput = "invalid_input"
	// ErrMissingCredentials: the token environment variable is not set on the
	// worker (non-retryable).
	ErrMissingCredentials = "missing_credentials"
	// ErrInvalidCredentials: CircleCI rejects the token (401, or 404 on every
	// check; non-retryable).
	ErrInvalidCredentials = "invalid_credentials"
	// ErrInvalidPermissions: the token cannot see the organisation or project
	// (403; non-retryable).
	ErrInvalidPermissions = "invalid_permissions"
	// ErrNoResources: the token works but sees no project of the organisation
	// (non-retryable).
	ErrNoResources = "no_resources"
	// ErrProjectNotFound: the project does not exist or is not visible
	// (non-retryable).
	ErrProjectNotFound = "project_not_found"
	// ErrRateLimited: CircleCI answered 429; retried after its Retry-After
	// through NextRetryDelay.
	ErrRateLimited = "rate_limited"
	// ErrServer: CircleCI answered 5xx (retryable).
	ErrServer = "server_error"
	// ErrTransport: the request failed on the network (retryable).
	ErrTransport = "transport_error"
	// ErrBadResponse: CircleCI's answer could not be decoded or its paging is
	// broken; retried a few times, then non-retryable.
	ErrBadResponse = "bad_response"
	// ErrStalePageToken: CircleCI no longer accepts the pipeline page token (404);
	// non-retryable, ProjectSync restarts paging from the first page.
	ErrStalePageToken = "stale_page_token"
	// ErrStore: the database failed (retryable: it may come back).
	ErrStore = "store_error"
	// ErrStorePermission: the database refuses the worker's writes (a role
	// without rights, a read-only file; non-retryable, with advice).
	ErrStorePermission = "store_permission"
)

// NonRetryableErrorTypes are the error types that retrying cannot fix; the
// workflows put them in their activity retry policies.
var NonRetryableErrorTypes = []string{
	ErrInvalidInput, ErrMissingCredentials, ErrInvalidCredentials, ErrInvalidPermissions,
	ErrNoResources, ErrProjectNotFound, ErrStalePageToken, ErrStorePermission,
}

// badResponseAttempts is the attempt from which an ErrBadResponse is
// non-retryable: an undecodable answer or a broken paging may be a passing
// glitch, but the same answer is likely to come again.
//
// The attempt number is the activity's, and it counts every attempt, whatever
// ended it: a 429, a 5xx, a network failure or a timeout. A small limit (it was
// 3) turned a bad answer met after two 429s into a failure at once. 10 attempts
// with the workflows' retry policy (1 s doubling to 1 min: 1+2+4+8+16+32+60+60+60
// s between them) are about 4 to 5 minutes of retries, long enough to outlast a
// passing glitch (a deploy, a truncated response behind a proxy), short enough
// that a persistent bad answer fails the sync in minutes, not after the policy's
// 6 hours. An activity that keeps hitting 429s meets this limit only if its
// tenth attempt or a later one gets a bad answer.
const badResponseAttempts = 10

// minRateLimitDelay is the retry delay of a 429 that names none.
const minRateLimitDelay = time.Second

// applicationError maps err to the ApplicationError the activities return, with
// what (such as "list workflows of pipeline <id>") as context. Nil stays nil;
// context cancellation and ApplicationErrors pass through unchanged. Messages
// never contain a token: circleci errors are redacted and what names ids only.
func applicationError(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		circleci.IsClass(err, circleci.ClassTransport)) {
		return err
	}
	msg := what + ": " + err.Error()
	if what == "" {
		msg = err.Error()
	}
	if ce, ok := circleci.AsError(err); ok {
		switch ce.Class {
		case circleci.ClassUnauthorized:
			return nonRetryable(msg+": CircleCI rejected the token: use a valid personal API token", ErrInvalidCredentials)
		case circleci.ClassForbidden:
			return nonRetryable(msg+": the token's user lacks permission", ErrInvalidPermissions)
		case circleci.ClassNotFound:
			if ce.ProjectMissing() {
				return nonRetryable(msg+": the project does not exist or is not visible to the token", ErrProjectNotFound)
			}
			// A stale page token, or an entity gone between two requests.
			return badResponse(ctx, msg)
		case circleci.ClassRateLimited:
			delay := max(ce.RetryAfter, minRateLimitDelay)
			return temporal.NewApplicationErrorWithOptions(msg, ErrRateLimited, temporal.ApplicationErrorOptions{
				NextRetryDelay: delay,
				Category:       temporal.ApplicationErrorCategoryBenign,
			})
		case circleci.ClassServer:
			return temporal.NewApplicationError(msg, ErrServer)
		case circleci.ClassTransport:
			return temporal.NewApplicationError(msg, ErrTransport)
		case circleci.ClassDecode, circleci.ClassPagination, circleci.ClassBadRequest:
			return badResponse(ctx, msg)
		}
		return temporal.NewApplicationError(msg, ErrBadResponse)
	}
	if errors.Is(err, store.ErrInvalidItem) {
		return nonRetryable(msg, ErrInvalidInput)
	}
	if store.IsPermissionDenied(err) {
		return nonRetryable(msg+": "+store.PermissionAdvice, ErrStorePermission)
	}
	return temporal.NewApplicationError(msg, ErrStore)
}

// nonRetryable is a non-retryable ApplicationError of type errType.
func nonRetryable(msg, errType string) error {
	return temporal.NewNonRetryableApplicationError(msg, errType, nil)
}

// badResponse is an ErrBadResponse, retryable for the first badResponseAttempts-1
// attempts and non-retryable after.
func badResponse(ctx context.Context, msg string) error {
	return badResponseAt(attempt(ctx), msg)
}

// badResponseAt is badResponse on attempt n (1 for the first).
func badResponseAt(n int32, msg string) error {
	if n < badResponseAttempts {
		return temporal.NewApplicationError(msg, ErrBadResponse)
	}
	return nonRetryable(msg, ErrBadResponse)
}

// attempt is the activity's attempt number (1 for the first), 1 outside an
// activity.
func attempt(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return activity.GetInfo(ctx).Attempt
}

// maxErrorSummary bounds errorSummary's length.
const maxErrorSummary = 300

// errorSummary describes err in one line for progress reports: "type: message"
// for an ApplicationError, its text otherwise, at most maxErrorSummary bytes.
// Errors never hold a token (see applicationError).
func errorSummary(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		s = appErr.Type() + ": " + appErr.Message()
	}
	if len(s) > maxErrorSummary {
		s = strings.ToValidUTF8(s[:maxErrorSummary], "") + "…"
	}
	return s
}

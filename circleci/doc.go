// Package circleci is a client for the parts of the CircleCI REST API (v2, and v1.1
// for the followed-project list) that circleci-sync reads: the token's user and
// organizations, projects, pipelines, workflows, jobs and users.
//
// # Client
//
// New builds a Client from Options: a base URL (CircleCI cloud or a CircleCI Server
// host; "/api/v2" and "/api/v1.1" are appended by the client) and a personal API
// token, sent in the Circle-Token header. Every request asks for JSON. Deadlines and
// cancellation come from the context of each call. Each operation sends exactly one
// request and never retries; iterators (ProjectPipelines, PipelineWorkflows,
// WorkflowJobs, OrgPipelines, and the generic Pages and Items) send one per page.
// PagesFrom and ItemsFrom resume a list at a saved page token, with the same
// guard against next_page_token cycles.
//
// The token never appears in an error, a log or a printed Client or Options: Client
// keeps it unexported, Options redacts it in String, GoString, Format, LogValue and
// MarshalJSON, and any echo of it in a response body is replaced by "[REDACTED]".
// The token is not forwarded when a redirect leads to another host or another
// scheme (https to http on the same host). Errors wrapping a cause whose text
// contains the token (a transport error, say) carry a redacted copy of the
// cause's chain: nothing reachable with errors.Unwrap or errors.As prints it,
// while errors.Is still finds context.Canceled, context.DeadlineExceeded and
// the like, and a net.Error stays a net.Error.
//
// # Errors
//
// Every failure of an operation is an *Error, with a Class (ClassUnauthorized,
// ClassForbidden, ClassNotFound, ClassRateLimited, ClassBadRequest, ClassServer,
// ClassDecode, ClassTransport, ClassPagination), the HTTP status, CircleCI's message,
// the method and the route template (such as RouteWorkflowJobs). Error.Retryable
// says whether to retry; Error.RetryAfter how long to wait after a 429;
// Error.NotFoundKind what a 404 means on that route (project missing, data expired,
// stale page token, entity not found).
//
// # Pacing
//
// A Limiter combines a token bucket, a concurrency cap and a shared pause. By default
// every Client of the process using the same base URL and token shares one (see
// SharedLimiter), slows down when CircleCI's RateLimit-Remaining runs low, and holds
// every caller after a 429 until its retry time.
//
// # Lenient decoding
//
// The OpenAPI spec and the live API disagree in places, and CircleCI adds enum values
// over time. The models decode leniently, on purpose:
//
//   - Times and ids that the API sends as null, or leaves out, are pointers: a job
//     that never started has a nil StartedAt (the spec says it is required), a job
//     that never ran has a nil JobNumber, a running workflow a nil StoppedAt.
//   - Optional objects are pointers too: a pipeline started by a pipeline definition
//     may have no VCS and carry its git data in TriggerParameters instead.
//   - Enums (states, statuses, types) are plain strings, and unknown values are kept
//     as they came: a status added by CircleCI later is stored, not rejected.
//     IsTerminalWorkflowStatus and IsTerminalJobStatus count unknown statuses as not
//     terminal, so they are polled again.
//   - Unknown fields are ignored, and every item keeps its exact wire JSON in Raw,
//     so nothing CircleCI sent is lost.
//   - /me/collaborations items accept both "vcs_type" (what CircleCI sends) and
//     "vcs-type" (what the spec says).
//   - next_page_token null or missing means the last page; "items" null or missing
//     means an empty page.
//
// Leniency stops where the data could no longer be stored correctly; those 2xx
// answers are ClassDecode errors, with a short reason and never the whole body: a
// body that is not JSON (a plain-text or HTML page), truncated JSON, a field of the
// wrong type (a string where a number is expected), a top-level value of the wrong
// shape (an array where an object is expected, or null), an item without an id
// (every entity is stored by its id), or a body over Options.MaxBodyBytes.
package circleci

// Package circleci is a client for the parts of the CircleCI REST API (v2, and v1.1 for
// the followed projects) that circleci-sync reads. Each operation sends one request and
// never retries; every failure is an *Error with a Class; a Limiter shared per token
// paces the requests; the token never appears in an error, a log or a printed value.
// The models decode leniently: docs/design.md, "The CircleCI client", says how and why.
package circleci

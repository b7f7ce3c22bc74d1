package circleci

import (
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
)

// redact removes the token from s.
func (c *Client) redact(s string) string {
	if c.cred.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.cred.token, redacted)
}

// redactErr returns err, or when the text of any error in its chain holds the token a
// copy of the chain with those errors replaced by redacted stand-ins; the others
// (context.Canceled…) stay, so errors.Is still finds them.
func (c *Client) redactErr(err error) error {
	if err == nil || c.cred.token == "" {
		return err
	}
	out, _ := redactChain(err, c.cred.token, c.redact, 0)
	return out
}

// maxRedactDepth bounds the walk of an error chain: deeper errors are cut off
// (a chain that long is almost certainly a cycle).
const maxRedactDepth = 64

// redactChain returns err, or its redacted copy and true when err or an error
// below it prints token.
func redactChain(err error, token string, redact func(string) string, depth int) (error, bool) {
	if err == nil {
		return nil, false
	}
	msg := err.Error()
	leaks := strings.Contains(msg, token)
	if depth >= maxRedactDepth {
		// Whatever is below is unknown: keep none of it.
		return newRedacted(redact(msg), err, nil, nil, false), true
	}
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		causes := x.Unwrap()
		out := make([]error, len(causes))
		for i, cause := range causes {
			var changed bool
			out[i], changed = redactChain(cause, token, redact, depth+1)
			leaks = leaks || changed
		}
		if !leaks {
			return err, false
		}
		return newRedacted(redact(msg), err, nil, out, true), true
	case interface{ Unwrap() error }:
		cause, changed := redactChain(x.Unwrap(), token, redact, depth+1)
		if !leaks && !changed {
			return err, false
		}
		return newRedacted(redact(msg), err, cause, nil, false), true
	}
	if !leaks {
		return err, false
	}
	return newRedacted(redact(msg), err, nil, nil, false), true
}

// newRedacted returns orig's stand-in, keeping it a net.Error when orig is one.
func newRedacted(msg string, orig, cause error, causes []error, joined bool) error {
	ne, isNet := orig.(net.Error)
	var nf netFlags
	if isNet {
		nf.timeout = ne.Timeout()
		if t, ok := orig.(interface{ Temporary() bool }); ok {
			nf.temporary = t.Temporary()
		}
	}
	switch {
	case joined && isNet:
		return &redactedNetErrors{redactedErrors{msg: msg, orig: orig, causes: causes}, nf}
	case joined:
		return &redactedErrors{msg: msg, orig: orig, causes: causes}
	case isNet:
		return &redactedNetError{redactedError{msg: msg, orig: orig, cause: cause}, nf}
	}
	return &redactedError{msg: msg, orig: orig, cause: cause}
}

// redactedError stands for an error whose text, or whose chain, held the token: its
// text is redacted, Unwrap gives the redacted cause, Is matches what the original did.
type redactedError struct {
	msg   string
	orig  error // never returned
	cause error // redacted copy of orig's cause, or nil
}

// Error returns the redacted text.
func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the redacted copy of the original error's cause.
func (e *redactedError) Unwrap() error { return e.cause }

// Is reports whether the original error itself is target or says it is.
func (e *redactedError) Is(target error) bool { return isItself(e.orig, target) }

// Format prints the redacted text for every verb, so that no verb (%#v, %d...)
// prints the original error's fields.
func (e *redactedError) Format(f fmt.State, verb rune) { formatRedacted(f, verb, e.msg) }

// redactedErrors is redactedError for an error that joins several causes
// (Unwrap() []error, like errors.Join).
type redactedErrors struct {
	msg    string
	orig   error   // never returned
	causes []error // redacted copies of orig's causes
}

// Error returns the redacted text.
func (e *redactedErrors) Error() string { return e.msg }

// Unwrap returns the redacted copies of the original error's causes.
func (e *redactedErrors) Unwrap() []error { return e.causes }

// Is reports whether the original error itself is target or says it is.
func (e *redactedErrors) Is(target error) bool { return isItself(e.orig, target) }

// Format prints the redacted text for every verb.
func (e *redactedErrors) Format(f fmt.State, verb rune) { formatRedacted(f, verb, e.msg) }

// formatRedacted prints msg, quoted for %q.
func formatRedacted(f fmt.State, verb rune, msg string) {
	if verb == 'q' {
		msg = fmt.Sprintf("%q", msg)
	}
	_, _ = io.WriteString(f, msg)
}

// netFlags are the answers of a net.Error, kept by its redacted stand-in.
type netFlags struct{ timeout, temporary bool }

// Timeout reports whether the original error was a timeout.
func (f netFlags) Timeout() bool { return f.timeout }

// Temporary is what the original error's Temporary answered.
func (f netFlags) Temporary() bool { return f.temporary }

// redactedNetError is a redactedError for a net.Error: it is a net.Error too.
type redactedNetError struct {
	redactedError
	netFlags
}

// redactedNetErrors is a redactedErrors for a net.Error: it is a net.Error too.
type redactedNetErrors struct {
	redactedErrors
	netFlags
}

// isItself reports whether err, not counting its chain, is target: equal to it
// (as errors.Is compares) or saying so with an Is method.
func isItself(err, target error) bool {
	if target == nil {
		return err == nil
	}
	if reflect.TypeOf(target).Comparable() && err == target {
		return true
	}
	x, ok := err.(interface{ Is(error) bool })
	return ok && x.Is(target)
}

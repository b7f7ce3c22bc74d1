package workflows

import (
	"errors"

	"go.temporal.io/sdk/temporal"
)

// isErrorType tells whether err holds an ApplicationError of type typ.
func isErrorType(err error, typ string) bool {
	var app *temporal.ApplicationError
	return errors.As(err, &app) && app.Type() == typ
}

// describe is describeFailure in one string, "type: message".
func describe(err error) string {
	typ, msg := describeFailure(err)
	return typ + ": " + msg
}

// describeFailure returns the type and message of the innermost cause a user can
// act on: the ApplicationError an activity or the child returned, or how the child
// ended (canceled, terminated, timed out).
func describeFailure(err error) (string, string) {
	var app *temporal.ApplicationError
	var canceled *temporal.CanceledError
	var terminated *temporal.TerminatedError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &app):
		return app.Type(), app.Message()
	case errors.As(err, &canceled):
		return "canceled", canceled.Error()
	case errors.As(err, &terminated):
		return "terminated", terminated.Error()
	case errors.As(err, &timeout):
		return "timeout", timeout.Error()
	}
	return "workflow_failed", err.Error()
}

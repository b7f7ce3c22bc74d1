package activities

import (
	"context"
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// Credentials resolves a connection's token on the worker.
type Credentials interface {
	// Token returns the token held by the environment variable tokenEnv. A missing
	// or empty variable is a non-retryable ErrMissingCredentials that names the
	// variable, never a token.
	Token(ctx context.Context, tokenEnv string) (string, error)
}

// EnvCredentials reads tokens from the worker's environment.
type EnvCredentials struct {
	// Lookup looks an environment variable up; nil means os.LookupEnv.
	Lookup func(string) (string, bool)
}

// Token returns the value of the environment variable tokenEnv, trimmed of
// surrounding white space. An empty or malformed variable name is a
// non-retryable ErrInvalidInput; a variable that is unset, empty or only white
// space is a non-retryable ErrMissingCredentials.
func (c EnvCredentials) Token(_ context.Context, tokenEnv string) (string, error) {
	if !validEnvName(tokenEnv) {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("token_env %q is not a valid environment variable name: use letters, digits and underscores, not starting with a digit", tokenEnv),
			ErrInvalidInput, nil)
	}
	lookup := c.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v, ok := lookup(tokenEnv)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("environment variable %q is not set on the worker: export it with the connection's CircleCI personal API token", tokenEnv),
			ErrMissingCredentials, nil)
	}
	return v, nil
}

// validEnvName reports whether s is a portable environment variable name:
// [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b == '_', b >= 'A' && b <= 'Z', b >= 'a' && b <= 'z':
		case b >= '0' && b <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

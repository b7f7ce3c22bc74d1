package activities

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// EnvCredentialsDir names the environment variable that holds a directory of
// token files, one per connection: <dir>/<connection_id>.
const EnvCredentialsDir = "CIRCLECI_CREDENTIALS_DIR"

// tokenFileSuffix names the variable of a token file: CIRCLECI_TOKEN_FILE.
const tokenFileSuffix = "_FILE"

// maxTokenFileBytes bounds a token file: a personal API token is about 40 bytes.
const maxTokenFileBytes = 4 << 10

// Credentials resolves a connection's token on the worker.
type Credentials interface {
	// Token returns conn's token, or an ErrMissingCredentials saying where it
	// was looked for.
	Token(ctx context.Context, conn Connection) (string, error)
}

// EnvCredentials reads a connection's token on the worker, from the first of:
//
//  1. the environment variable conn.TokenEnv (default CIRCLECI_TOKEN);
//  2. the file named by the environment variable conn.TokenEnv + "_FILE"
//     (CIRCLECI_TOKEN_FILE: a Docker or Kubernetes secret);
//  3. the file <dir>/<connection_id>, where dir is Dir, else the environment
//     variable CIRCLECI_CREDENTIALS_DIR (one token file per connection).
//
// Files are read on every call: a rotated token takes effect at once.
type EnvCredentials struct {
	// Lookup looks an environment variable up; nil means os.LookupEnv.
	Lookup func(string) (string, bool)
	// ReadFile reads a file; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Dir holds per-connection token files ("": $CIRCLECI_CREDENTIALS_DIR).
	Dir string
}

// Token returns conn's token (see EnvCredentials).
func (c EnvCredentials) Token(_ context.Context, conn Connection) (string, error) {
	tokenEnv := conn.TokenEnv
	if !validEnvName(tokenEnv) {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("token_env (%d bytes) is not a valid environment variable name: use letters, digits and underscores, not starting with a digit", len(tokenEnv)),
			ErrInvalidInput, nil)
	}
	lookup := c.Lookup
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(tokenEnv); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v), nil
	}
	tried := []string{fmt.Sprintf("environment variable %q is not set on the worker", tokenEnv)}

	fileEnv := tokenEnv + tokenFileSuffix
	if path, ok := lookup(fileEnv); ok && strings.TrimSpace(path) != "" {
		return c.readToken(strings.TrimSpace(path), fmt.Sprintf("the file %s names", fileEnv))
	}
	tried = append(tried, fmt.Sprintf("nor is %s", fileEnv))

	dir := c.Dir
	if dir == "" {
		dir, _ = lookup(EnvCredentialsDir)
		dir = strings.TrimSpace(dir)
	}
	if dir != "" && validFileName(conn.ConnectionID) {
		path := filepath.Join(dir, conn.ConnectionID)
		tok, err := c.readToken(path, "the connection's token file")
		if err == nil {
			return tok, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		tried = append(tried, fmt.Sprintf("and %s has no file %q", EnvCredentialsDir, conn.ConnectionID))
	} else {
		tried = append(tried, fmt.Sprintf("and %s is not set", EnvCredentialsDir))
	}
	return "", temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("no CircleCI token for connection %q: %s: set %s to the connection's personal API token, "+
			"%s to a file holding it, or put it in $%s/%s", conn.ConnectionID, strings.Join(tried, ", "),
			tokenEnv, fileEnv, EnvCredentialsDir, conn.ConnectionID),
		ErrMissingCredentials, nil)
}

// readToken reads a token file; its errors name the file, never its content.
func (c EnvCredentials) readToken(path, what string) (string, error) {
	read := c.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	b, err := read(path)
	if err != nil {
		msg := fmt.Sprintf("cannot read the CircleCI token from %s, %s", what, path)
		return "", temporal.NewNonRetryableApplicationError(msg, ErrMissingCredentials, fileError{err})
	}
	if len(b) > maxTokenFileBytes {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the CircleCI token file %s (%s) is %d bytes: a token file holds just the token", path, what, len(b)),
			ErrMissingCredentials, nil)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("the CircleCI token file %s (%s) is empty", path, what), ErrMissingCredentials, nil)
	}
	return tok, nil
}

// fileError is a file error printed without its path.
type fileError struct{ err error }

// Error returns the cause without the path.
func (e fileError) Error() string {
	if pe, ok := errors.AsType[*fs.PathError](e.err); ok {
		return pe.Err.Error()
	}
	return e.err.Error()
}

// Unwrap returns the file error.
func (e fileError) Unwrap() error { return e.err }

// validFileName reports whether id can name a file in the credentials directory.
func validFileName(id string) bool {
	return id != "" && !strings.ContainsAny(id, `/\`) && !strings.HasPrefix(id, ".")
}

// validEnvName reports whether s matches [A-Za-z_][A-Za-z0-9_]*.
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

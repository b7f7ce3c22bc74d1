package activities

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// AnyBaseURL, in Activities.AllowedBaseURLs, allows every base URL.
const AnyBaseURL = "*"

// checkConnection refuses, before its token is read, a connection the worker
// may not serve: a base URL not in AllowedBaseURLs (the token would be sent
// there) or a token variable TokenEnvPattern does not match (the worker would
// send another of its secrets as a token). Both are non-retryable
// ErrInvalidInput: whoever can start a workflow on the task queue must not make
// the worker send its secrets to a host of their choosing.
func (a *Activities) checkConnection(conn Connection) error {
	if a.AllowedBaseURLs != nil && !baseURLAllowed(a.AllowedBaseURLs, conn.BaseURL) {
		return nonRetryable(fmt.Sprintf("base_url %q is not one this worker sends tokens to (allowed: %s): "+
			"add it to the worker's CIRCLECI_ALLOWED_BASE_URLS", safeURL(baseURLOrDefault(conn.BaseURL)),
			strings.Join(a.AllowedBaseURLs, ", ")), ErrInvalidInput)
	}
	if a.TokenEnvPattern != nil && !a.TokenEnvPattern.MatchString(conn.TokenEnv) {
		// The value is not quoted: it may be a token pasted in the wrong field.
		return nonRetryable(fmt.Sprintf("token_env (%d bytes) is not a variable this worker reads tokens from "+
			"(its CIRCLECI_TOKEN_ENV_PATTERN is %q): name the connection's token variable like ACME_CIRCLECI_TOKEN",
			len(conn.TokenEnv), a.TokenEnvPattern.String()), ErrInvalidInput)
	}
	return nil
}

// baseURLAllowed reports whether base (empty: CircleCI cloud) is in allowed,
// comparing canonical forms (see CanonicalBaseURL); AnyBaseURL allows all.
func baseURLAllowed(allowed []string, base string) bool {
	if slices.Contains(allowed, AnyBaseURL) {
		return true
	}
	b := CanonicalBaseURL(base)
	for _, u := range allowed {
		if CanonicalBaseURL(u) == b {
			return true
		}
	}
	return false
}

// CanonicalBaseURL is base in the form base URLs are compared in: scheme and
// host lowercased, without a trailing slash or a trailing /api/v2 or /api/v1.1;
// empty means CircleCI cloud. A URL that does not parse is returned trimmed.
func CanonicalBaseURL(base string) string {
	base = strings.TrimSpace(base)
	if base == "" {
		base = circleci.DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	path := strings.TrimRight(u.Path, "/")
	for _, suffix := range []string{"/api/v2", "/api/v1.1"} {
		path = strings.TrimSuffix(path, suffix)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + path
}

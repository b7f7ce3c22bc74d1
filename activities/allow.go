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

// checkConnection refuses, before its token is read, a base URL not in
// AllowedBaseURLs or a token variable TokenEnvPattern does not match: a
// workflow input must not make the worker send its secrets elsewhere.
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

// baseURLAllowed reports whether base is in allowed, in canonical forms.
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

// CanonicalBaseURL is base as base URLs are compared: scheme and host
// lowercased, without a trailing slash, /api/v2 or /api/v1.1.
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

package circleci

import (
	"net/url"
	"strings"
)

// Route templates name a request in Error.Route and in Observer calls; they never
// contain ids, slugs or tokens. Each is declared with its operations, in the file of
// its entity kind.

// paramPageToken is the query parameter of a list's next page.
const paramPageToken = "page-token"

// escapeSegment escapes s as one path segment: "/" and "%" escaped, and a dots-only
// segment encoded so that it is not read as "." or "..".
func escapeSegment(s string) string {
	e := url.PathEscape(s)
	if strings.Trim(e, ".") == "" {
		return strings.Repeat("%2E", len(e))
	}
	return e
}

// setPageToken adds the page-token parameter, left out for the first page.
func setPageToken(q url.Values, pageToken string) {
	if pageToken != "" {
		q.Set(paramPageToken, pageToken)
	}
}

package activities

import (
	"slices"
	"strings"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

// mergeRecord returns a connection's new project record: the projects of prev
// that belong to org (all of them when org is empty), plus add, minus those of
// drop (compared as canonical slugs); sorted, deduplicated, blank slugs left
// out.
func mergeRecord(org string, prev, add, drop []string) []string {
	var out []string
	for _, s := range prev {
		if s = strings.TrimSpace(s); s != "" && (org == "" || webhooks.InOrg(org, s)) {
			out = append(out, s)
		}
	}
	for _, s := range add {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(drop) > 0 {
		gone := map[string]bool{}
		for _, s := range drop {
			gone[webhooks.CanonicalSlug(s)] = true
		}
		out = slices.DeleteFunc(out, func(s string) bool { return gone[webhooks.CanonicalSlug(s)] })
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// baseURLOrDefault is the base URL a connection uses.
func baseURLOrDefault(u string) string {
	if strings.TrimSpace(u) == "" {
		return circleci.DefaultBaseURL
	}
	return safeURL(u)
}

// safeURL cuts a URL's user info and query, where secrets could hide, for messages.
func safeURL(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			raw = raw[:j+3] + "…@" + raw[i+1:]
		}
	}
	return raw
}

package webhooks

import "strings"

// CanonicalSlug lowercases a project or org slug and shortens its VCS prefix
// ("github/" to "gh/", "bitbucket/" to "bb/"): events carry the long form.
func CanonicalSlug(s string) string {
	s = strings.ToLower(strings.Trim(strings.TrimSpace(s), "/"))
	if rest, ok := strings.CutPrefix(s, "github/"); ok {
		return "gh/" + rest
	}
	if rest, ok := strings.CutPrefix(s, "bitbucket/"); ok {
		return "bb/" + rest
	}
	return s
}

// ShortSlug shortens a slug's VCS prefix as CanonicalSlug does but keeps its
// case: the opaque "circleci/<org>/<project>" slugs may be case-sensitive.
func ShortSlug(s string) string {
	s = strings.Trim(strings.TrimSpace(s), "/")
	for long, short := range map[string]string{"github/": "gh/", "bitbucket/": "bb/"} {
		if len(s) >= len(long) && strings.EqualFold(s[:len(long)], long) {
			return short + s[len(long):]
		}
	}
	return s
}

// InOrg reports whether project slug is directly under org, both canonicalized.
func InOrg(org, slug string) bool {
	o, s := CanonicalSlug(org), CanonicalSlug(slug)
	rest, ok := strings.CutPrefix(s, o+"/")
	return o != "" && ok && rest != "" && !strings.Contains(rest, "/")
}

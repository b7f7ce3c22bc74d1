package circlecitest

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOddProjects(t *testing.T) {
	s := NewServer(Options{Seed: 6, Projects: 1, OddProjects: len(OddRepoNames) + 1, PipelinesPerProject: 2})
	defer s.Close()
	d := s.Dataset()
	require.Len(t, d.Projects, 1+len(OddRepoNames)+1)
	odd := d.Projects[1:]
	var inOddOrg []string
	for k, p := range odd {
		name := OddRepoNames[k%len(OddRepoNames)]
		if k >= len(OddRepoNames) {
			name += "-2"
		}
		assert.Equal(t, name, p.Name)
		org := "gh/acme"
		if k%2 == 1 {
			org = OddOrgSlug
			assert.Equal(t, OddOrgName, p.OrganizationName)
			inOddOrg = append(inOddOrg, p.Slug)
		}
		assert.Equal(t, org+"/"+name, p.Slug)
		assert.Equal(t, org, p.OrganizationSlug)

		// Served under its escaped slug (one segment, or raw slashes), and
		// under the long VCS name.
		for _, path := range []string{
			"/api/v2/project/" + url.PathEscape(p.Slug),
			"/api/v2/project/" + escapeParts(p.Slug),
			"/api/v2/project/" + url.PathEscape("github/"+strings.TrimPrefix(p.Slug, "gh/")),
		} {
			var got Project
			get(t, s, path, &got)
			assert.Equal(t, p.Slug, got.Slug, path)
		}
		items, _ := walk(t, s, "/api/v2/project/"+url.PathEscape(p.Slug)+"/pipeline")
		require.Len(t, items, 2, p.Slug)
		for _, it := range items {
			assert.Equal(t, p.Slug, it["project_slug"])
		}
	}
	require.NotEmpty(t, inOddOrg)

	// The odd org's pipeline list holds its projects only.
	items, _ := walk(t, s, "/api/v2/pipeline", "org-slug", OddOrgSlug)
	var slugs []string
	for _, it := range items {
		if slug := it["project_slug"].(string); !slices.Contains(slugs, slug) {
			slugs = append(slugs, slug)
		}
	}
	slices.Sort(slugs)
	slices.Sort(inOddOrg)
	assert.Equal(t, inOddOrg, slugs)

	// Collaborations and followed projects name them.
	var collabs []map[string]any
	get(t, s, "/api/v2/me/collaborations", &collabs)
	var orgs []string
	for _, c := range collabs {
		orgs = append(orgs, c["slug"].(string))
	}
	assert.Contains(t, orgs, OddOrgSlug)
	var followed []map[string]any
	get(t, s, "/api/v1.1/projects", &followed)
	require.Len(t, followed, len(d.Projects))
	assert.Equal(t, strings.TrimPrefix(OddOrgSlug, "gh/"), followed[2]["username"])
	assert.Equal(t, OddRepoNames[1], followed[2]["reponame"])

	// Without OddProjects, the dataset is as before: no odd org.
	plain := NewServer(Options{Seed: 6, Projects: 1, PipelinesPerProject: 2})
	defer plain.Close()
	for _, c := range plain.Dataset().Collaborations {
		assert.NotEqual(t, OddOrgSlug, c.Slug)
	}
}

// escapeParts escapes each part of a slug, keeping its slashes raw.
func escapeParts(slug string) string {
	parts := strings.Split(slug, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

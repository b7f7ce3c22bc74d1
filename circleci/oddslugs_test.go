package circleci_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// oddEscapes are the path segments the client must send for the slugs of the
// fake's odd projects (circlecitest.OddRepoNames, every second one in
// circlecitest.OddOrgSlug), written out by hand from RFC 3986: one segment
// ("/" is %2F), "%" %25, space %20, "'" %27, ";" %3B, "?" %3F, "#" %23,
// "\" %5C, brackets and braces escaped, UTF-8 bytes escaped; "+", "&", "=",
// ":" and "-" kept as sub-delimiters allowed in a segment.
var oddEscapes = map[string]string{
	"gh/acme/100% coverage":                         "gh%2Facme%2F100%25%20coverage",
	"gh/ödd org's 100%/my repo":                     "gh%2F%C3%B6dd%20org%27s%20100%25%2Fmy%20repo",
	"gh/acme/ünïcødé-日本":                            "gh%2Facme%2F%C3%BCn%C3%AFc%C3%B8d%C3%A9-%E6%97%A5%E6%9C%AC",
	`gh/ödd org's 100%/say "hi" it's`:               "gh%2F%C3%B6dd%20org%27s%20100%25%2Fsay%20%22hi%22%20it%27s",
	"gh/acme/x'; DROP TABLE circleci_pipelines; --": "gh%2Facme%2Fx%27%3B%20DROP%20TABLE%20circleci_pipelines%3B%20--",
	"gh/ödd org's 100%/a%2Fb+c&d=e?f#g":             "gh%2F%C3%B6dd%20org%27s%20100%25%2Fa%252Fb+c&d=e%3Ff%23g",
	"gh/acme/emoji 🚀 [x] {y}":                       "gh%2Facme%2Femoji%20%F0%9F%9A%80%20%5Bx%5D%20%7By%7D",
	`gh/ödd org's 100%/back\slash;semi:colon`:       "gh%2F%C3%B6dd%20org%27s%20100%25%2Fback%5Cslash%3Bsemi:colon",
}

// TestFakeOddProjectsCrawl: projects whose slugs need escaping are crawled
// whole, and the fake saw exactly the escaped paths and query expected.
func TestFakeOddProjectsCrawl(t *testing.T) {
	t.Parallel()
	fake := circlecitest.NewHandler(circlecitest.Options{Seed: 17, Projects: 1, OddProjects: len(circlecitest.OddRepoNames),
		PipelinesPerProject: 2, MaxWorkflowsPerPipeline: 2, MaxJobsPerWorkflow: 3, Token: fullToken})
	rec := &requestURIs{}
	hs := httptest.NewServer(rec.wrap(fake))
	t.Cleanup(hs.Close)
	c, err := circleci.New(circleci.Options{BaseURL: hs.URL, Token: fullToken, Limiter: fastLimiter()})
	require.NoError(t, err)

	want := fake.Expected(fullToken)
	require.Len(t, want.Projects, 1+len(oddEscapes))
	got := crawlWith(t, c)
	checkExpected(t, got, want)

	rec.mu.Lock()
	uris := slices.Clone(rec.uris)
	rec.mu.Unlock()
	for slug, esc := range oddEscapes {
		assert.Contains(t, uris, "/api/v2/project/"+esc, "GET project %q", slug)
		assert.Contains(t, uris, "/api/v2/project/"+esc+"/pipeline", "GET pipelines of %q", slug)
	}
	assert.Zero(t, fake.Stats().Count("GET (unmatched)", 0))
	assert.Zero(t, fake.Stats().CountStatus(http.StatusNotFound), "every odd slug found its project")

	// The odd org's pipeline list, with its slug in the query.
	var orgSlugs []string
	for p, err := range c.OrgPipelines(testContext(t), circlecitest.OddOrgSlug) {
		require.NoError(t, err)
		if !slices.Contains(orgSlugs, p.ProjectSlug) {
			orgSlugs = append(orgSlugs, p.ProjectSlug)
		}
	}
	var wantOrg []string
	for _, p := range want.Projects {
		if p.OrganizationSlug == circlecitest.OddOrgSlug {
			wantOrg = append(wantOrg, p.Slug)
		}
	}
	slices.Sort(orgSlugs)
	slices.Sort(wantOrg)
	assert.Equal(t, wantOrg, orgSlugs)
	assert.Equal(t, "/api/v2/pipeline?org-slug=gh%2F%C3%B6dd+org%27s+100%25", rec.last())
}

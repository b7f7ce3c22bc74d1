package circlecitest

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProjectPipelinesPaging(t *testing.T) {
	s := NewServer(Options{Seed: 11})
	defer s.Close()
	d := s.Dataset()
	for _, proj := range d.Projects {
		var want []string
		for _, p := range d.Pipelines {
			if p.ProjectSlug == proj.Slug {
				want = append(want, p.ID)
			}
		}
		items, pages := walk(t, s, projectPath(proj.Slug)+"/pipeline")
		assert.Equal(t, want, ids(items), proj.Slug)
		assert.Equal(t, 2, pages, "25 pipelines are two pages of 20")

		// Newest first, numbers decreasing.
		for i := 1; i < len(items); i++ {
			assert.Greater(t, items[i-1]["number"], items[i]["number"])
			assert.GreaterOrEqual(t, items[i-1]["created_at"], items[i]["created_at"])
		}
	}
}

func TestSlugEscapingAndAliases(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	for _, proj := range s.Dataset().Projects {
		escaped := call(t, s, projectPath(proj.Slug)+"/pipeline", s.Token())
		raw := call(t, s, "/api/v2/project/"+proj.Slug+"/pipeline", s.Token())
		require.Equal(t, http.StatusOK, escaped.status)
		assert.Equal(t, string(escaped.body), string(raw.body), proj.Slug)
		if long, ok := strings.CutPrefix(proj.Slug, "gh/"); ok {
			alias := call(t, s, projectPath("github/"+long), s.Token())
			require.Equal(t, http.StatusOK, alias.status)
			assert.Contains(t, string(alias.body), `"slug":"`+proj.Slug+`"`)
		}
	}
}

func TestOrgPipelinesPaging(t *testing.T) {
	s := NewServer(Options{Seed: 5})
	defer s.Close()
	d := s.Dataset()
	items, pages := walk(t, s, "/api/v2/pipeline")
	assert.Len(t, items, len(d.Pipelines))
	assert.Equal(t, (len(d.Pipelines)+PageSize-1)/PageSize, pages)
	var all []string
	for _, p := range d.Pipelines {
		all = append(all, p.ID)
	}
	assert.Equal(t, all, ids(items), "newest first across projects")

	// Projects interleave in the org-wide list.
	first := map[string]bool{}
	for _, it := range items[:PageSize] {
		first[it["project_slug"].(string)] = true
	}
	assert.Greater(t, len(first), 1)

	for _, proj := range d.Projects {
		items, _ := walk(t, s, "/api/v2/pipeline", "org-slug", proj.OrganizationSlug)
		for _, it := range items {
			assert.True(t, strings.HasPrefix(it["project_slug"].(string), proj.OrganizationSlug+"/"))
		}
		assert.Len(t, items, DefaultPipelinesPerProject) // one project per org by default
	}

	// mine=true keeps the pipelines the token's user triggered.
	me := d.Users[0]
	require.Equal(t, d.MeID, me.ID)
	mine, _ := walk(t, s, "/api/v2/pipeline", "mine", "true")
	want := 0
	for _, p := range d.Pipelines {
		if p.Trigger.Actor.Login == me.Login {
			want++
		}
	}
	assert.Len(t, mine, want)
	assert.Positive(t, want)
	for _, it := range mine {
		assert.Equal(t, me.Login, it["trigger"].(map[string]any)["actor"].(map[string]any)["login"])
	}
}

func TestBranchFilterMustBeRepeated(t *testing.T) {
	s := NewServer(Options{Seed: 2, PipelinesPerProject: 80})
	defer s.Close()
	proj := s.Dataset().Projects[0]
	var want []string
	for _, p := range s.Dataset().Pipelines {
		if p.ProjectSlug == proj.Slug && p.Branch() == "main" {
			want = append(want, p.ID)
		}
	}
	require.Greater(t, len(want), PageSize, "need two pages of main")
	items, pages := walk(t, s, projectPath(proj.Slug)+"/pipeline", "branch", "main")
	assert.Equal(t, want, ids(items))
	assert.GreaterOrEqual(t, pages, 2)

	// The second page's token is refused without the branch, or with another.
	var p page
	get(t, s, projectPath(proj.Slug)+"/pipeline?branch=main", &p)
	require.NotNil(t, p.NextPageToken)
	for _, q := range [][]string{{"page-token", *p.NextPageToken}, {"page-token", *p.NextPageToken, "branch", "develop"}} {
		r := call(t, s, withQuery(projectPath(proj.Slug)+"/pipeline", q...), s.Token())
		assert.Equal(t, http.StatusBadRequest, r.status)
		assert.NotEmpty(t, message(t, r))
	}
	// And the org-slug filter too.
	get(t, s, "/api/v2/pipeline?org-slug=gh/acme", &p)
	require.NotNil(t, p.NextPageToken)
	r := call(t, s, withQuery("/api/v2/pipeline", "page-token", *p.NextPageToken), s.Token())
	assert.Equal(t, http.StatusBadRequest, r.status)
	r = call(t, s, withQuery("/api/v2/pipeline", "page-token", *p.NextPageToken, "org-slug", "gh/acme"), s.Token())
	assert.Equal(t, http.StatusOK, r.status)
}

func TestPageTokensAreOpaqueAndChecked(t *testing.T) {
	s := NewServer(Options{Seed: 9})
	defer s.Close()
	other := NewServer(Options{Seed: 10})
	defer other.Close()
	d := s.Dataset()
	slugA, slugB := d.Projects[0].Slug, d.Projects[1].Slug

	var p page
	get(t, s, projectPath(slugA)+"/pipeline", &p)
	require.NotNil(t, p.NextPageToken)
	tok := *p.NextPageToken
	raw, err := base64.RawStdEncoding.DecodeString(tok)
	require.NoError(t, err)
	for _, it := range p.Items {
		id := it["id"].(string)
		assert.NotContains(t, tok, id)
		assert.NotContains(t, string(raw), id)
		assert.NotContains(t, tok, strings.ReplaceAll(id, "-", ""))
	}
	_, err = strconv.Atoi(tok)
	assert.Error(t, err, "a token is not a bare offset")

	bad := map[string]string{
		"garbage":         "not-a-token",
		"truncated":       tok[:len(tok)-4],
		"other project":   tok,
		"other seed":      "",
		"flipped byte":    "",
		"pipeline scoped": "",
	}
	flipped := []byte(tok)
	if flipped[20] == 'A' {
		flipped[20] = 'B'
	} else {
		flipped[20] = 'A'
	}
	bad["flipped byte"] = string(flipped)
	var op page
	get(t, other, projectPath(other.Dataset().Projects[0].Slug)+"/pipeline", &op)
	bad["other seed"] = *op.NextPageToken
	var org page
	get(t, s, "/api/v2/pipeline", &org)
	bad["pipeline scoped"] = *org.NextPageToken

	for name, tk := range bad {
		path := projectPath(slugA) + "/pipeline"
		if name == "other project" {
			path = projectPath(slugB) + "/pipeline"
		}
		r := call(t, s, withQuery(path, "page-token", tk), s.Token())
		assert.Equal(t, http.StatusBadRequest, r.status, name)
		assert.Contains(t, r.header.Get("Content-Type"), "application/json", name)
		assert.NotEmpty(t, message(t, r), name)
	}

	// An empty page-token is the first page.
	r := call(t, s, projectPath(slugA)+"/pipeline?page-token=", s.Token())
	assert.Equal(t, http.StatusOK, r.status)
}

func TestJobListsPage(t *testing.T) {
	s := NewServer(Options{Seed: 4})
	defer s.Close()
	d := s.Dataset()
	byWf := map[string][]string{}
	for _, j := range d.Jobs {
		byWf[j.WorkflowID] = append(byWf[j.WorkflowID], j.ID)
	}
	twoPages := 0
	for _, wf := range d.Workflows[:40] {
		items, pages := walk(t, s, "/api/v2/workflow/"+wf.ID+"/job")
		assert.Equal(t, byWf[wf.ID], ids(items), wf.ID)
		if pages > 1 {
			twoPages++
		}
	}
	assert.Positive(t, twoPages)

	// A job-list token does not work on another workflow's job list.
	var long, other string
	for _, wf := range d.Workflows {
		if len(byWf[wf.ID]) > PageSize && long == "" {
			long = wf.ID
		} else if other == "" {
			other = wf.ID
		}
	}
	require.NotEmpty(t, long)
	var p page
	get(t, s, "/api/v2/workflow/"+long+"/job", &p)
	require.NotNil(t, p.NextPageToken)
	r := call(t, s, withQuery("/api/v2/workflow/"+other+"/job", "page-token", *p.NextPageToken), s.Token())
	assert.Equal(t, http.StatusBadRequest, r.status)
}

func TestWorkflowListsNewestFirst(t *testing.T) {
	s := NewServer(Options{Seed: 4})
	defer s.Close()
	d := s.Dataset()
	for _, p := range d.Pipelines[:20] {
		items, pages := walk(t, s, "/api/v2/pipeline/"+p.ID+"/workflow")
		assert.Equal(t, 1, pages)
		for i := 1; i < len(items); i++ {
			assert.GreaterOrEqual(t, items[i-1]["created_at"], items[i]["created_at"])
		}
		if p.State == pipelineStateErrored {
			assert.Empty(t, items)
		}
	}
}

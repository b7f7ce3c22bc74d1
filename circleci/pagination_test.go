package circleci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagedHandler answers page-token "" with pages[""], "A" with pages["A"], and so
// on: each page a list of ids and the next token ("" for null).
type pageSpec struct {
	ids  []string
	next string
}

func pagedHandler(t *testing.T, pages map[string]pageSpec, item func(id string) string) http.HandlerFunc {
	var calls atomic.Int64
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 50 {
			// A client that loops would hang the test: end it with an error instead.
			t.Errorf("more than 50 page requests: the iteration does not stop")
			respond(500, nil, "endless loop")(w, r)
			return
		}
		tok := r.URL.Query().Get("page-token")
		p, ok := pages[tok]
		if !ok {
			respond(404, nil, `{"message":"Not Found"}`)(w, r)
			return
		}
		items := make([]string, len(p.ids))
		for i, id := range p.ids {
			items[i] = item(id)
		}
		next := "null"
		if p.next != "" {
			next = fmt.Sprintf("%q", p.next)
		}
		jsonBody(200, `{"items":[`+strings.Join(items, ",")+`],"next_page_token":`+next+`}`)(w, r)
	}
}

func pipelineItem(id string) string {
	return `{"id":"` + id + `","number":1,"project_slug":"gh/acme/widgets","state":"created","created_at":"2025-09-30T12:00:00Z","errors":[],"trigger":{"type":"api","received_at":"2025-09-30T12:00:00Z","actor":{"login":"bot","avatar_url":null}}}`
}

func workflowItem(id string) string {
	return `{"id":"` + id + `","pipeline_id":"p","name":"build","status":"running","created_at":"2025-09-30T12:00:00Z","stopped_at":null}`
}

func jobItem(id string) string {
	return `{"id":"` + id + `","name":"test","type":"build","status":"queued","dependencies":[],"started_at":null}`
}

func collect[T any](t *testing.T, seq func(yield func(T, error) bool)) ([]T, error) {
	t.Helper()
	var out []T
	for it, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}

func TestProjectPipelinesIterator(t *testing.T) {
	pages := map[string]pageSpec{
		"":  {ids: []string{"p1", "p2"}, next: "A"},
		"A": {ids: []string{"p3"}, next: "B"},
		"B": {ids: []string{"p4", "p5"}},
	}
	c, rec, _ := newTestClient(t, pagedHandler(t, pages, pipelineItem))
	got, err := collect(t, c.ProjectPipelines(context.Background(), "gh/acme/widgets", "main"))
	require.NoError(t, err)
	var ids []string
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"p1", "p2", "p3", "p4", "p5"}, ids)

	reqs := rec.all()
	require.Len(t, reqs, 3)
	for i, wantTok := range []string{"", "A", "B"} {
		q, err := url.ParseQuery(reqs[i].RawQuery)
		require.NoError(t, err)
		assert.Equal(t, "main", q.Get("branch"), "branch sent with every page")
		assert.Equal(t, wantTok, q.Get("page-token"))
		_, has := q["page-token"]
		assert.Equal(t, wantTok != "", has, "no page-token on the first request")
		assert.Equal(t, "/api/v2/project/gh%2Facme%2Fwidgets/pipeline", reqs[i].EscapedPath)
	}
}

func TestOtherIterators(t *testing.T) {
	ctx := context.Background()
	pages := map[string]pageSpec{"": {ids: []string{"a", "b"}, next: "N"}, "N": {ids: []string{"c"}}}

	t.Run("OrgPipelines", func(t *testing.T) {
		c, rec, _ := newTestClient(t, pagedHandler(t, pages, pipelineItem))
		got, err := collect(t, c.OrgPipelines(ctx, "gh/acme"))
		require.NoError(t, err)
		assert.Len(t, got, 3)
		for _, r := range rec.all() {
			assert.Contains(t, r.RawQuery, "org-slug=gh%2Facme")
		}
	})
	t.Run("PipelineWorkflows", func(t *testing.T) {
		c, rec, _ := newTestClient(t, pagedHandler(t, pages, workflowItem))
		got, err := collect(t, c.PipelineWorkflows(ctx, "pipe-1"))
		require.NoError(t, err)
		assert.Len(t, got, 3)
		assert.Equal(t, "/api/v2/pipeline/pipe-1/workflow", rec.all()[1].EscapedPath)
		assert.Equal(t, "page-token=N", rec.all()[1].RawQuery)
	})
	t.Run("WorkflowJobs", func(t *testing.T) {
		c, rec, _ := newTestClient(t, pagedHandler(t, pages, jobItem))
		got, err := collect(t, c.WorkflowJobs(ctx, "wf-1"))
		require.NoError(t, err)
		require.Len(t, got, 3)
		for _, j := range got {
			assert.Equal(t, "wf-1", j.WorkflowID)
		}
		assert.Equal(t, "page-token=N", rec.all()[1].RawQuery, "page-token sent to the job list")
	})
}

func TestPaginationCycles(t *testing.T) {
	tests := []struct {
		name      string
		pages     map[string]pageSpec
		wantItems int
		wantReqs  int
		wantMsg   string
	}{
		{
			name:      "A→A repeated",
			pages:     map[string]pageSpec{"": {ids: []string{"1"}, next: "A"}, "A": {ids: []string{"2"}, next: "A"}},
			wantItems: 2, wantReqs: 2,
			wantMsg: "page 2 returned the next_page_token already used for page 2",
		},
		{
			name: "A→B→A cycle",
			pages: map[string]pageSpec{
				"":  {ids: []string{"1"}, next: "A"},
				"A": {ids: []string{"2"}, next: "B"},
				"B": {ids: []string{"3"}, next: "A"},
			},
			wantItems: 3, wantReqs: 3,
			wantMsg: "page 3 returned the next_page_token already used for page 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, _ := newTestClient(t, pagedHandler(t, tt.pages, jobItem))
			got, err := collect(t, c.WorkflowJobs(context.Background(), "wf"))
			e := requireClass(t, err, ClassPagination)
			assert.Len(t, got, tt.wantItems, "items of every page before the loop are yielded")
			assert.Equal(t, tt.wantReqs, rec.count())
			assert.Contains(t, e.Message, tt.wantMsg)
			assert.Equal(t, RouteWorkflowJobs, e.Route)
			assert.Equal(t, http.MethodGet, e.Method)
			assert.False(t, e.Retryable())
		})
	}
}

func TestPaginationStopsOnBreakAndError(t *testing.T) {
	pages := map[string]pageSpec{
		"":  {ids: []string{"1", "2"}, next: "A"},
		"A": {ids: []string{"3"}, next: "gone"},
	}
	t.Run("break", func(t *testing.T) {
		c, rec, _ := newTestClient(t, pagedHandler(t, pages, pipelineItem))
		n := 0
		for _, err := range c.ProjectPipelines(context.Background(), "gh/a/b", "") {
			require.NoError(t, err)
			n++
			if n == 2 {
				break
			}
		}
		assert.Equal(t, 1, rec.count(), "no page fetched after break")
	})
	t.Run("error on a later page", func(t *testing.T) {
		c, rec, _ := newTestClient(t, pagedHandler(t, pages, pipelineItem))
		got, err := collect(t, c.ProjectPipelines(context.Background(), "gh/a/b", ""))
		e := requireClass(t, err, ClassNotFound)
		assert.Len(t, got, 3)
		assert.Equal(t, 3, rec.count())
		assert.True(t, e.Continuation)
		assert.Equal(t, NotFoundPageToken, e.NotFoundKind(), "a 404 on a page token is not a missing project")
		assert.False(t, e.ProjectMissing())
	})
}

func TestGenericPages(t *testing.T) {
	ctx := context.Background()
	var tokens []string
	fetch := func(_ context.Context, tok string) (Page[int], error) {
		tokens = append(tokens, tok)
		switch tok {
		case "":
			return Page[int]{Items: []int{1, 2}, NextPageToken: "x"}, nil
		case "x":
			return Page[int]{Items: []int{3}, NextPageToken: "y"}, nil
		default:
			return Page[int]{Items: []int{4}}, nil
		}
	}
	var sizes []int
	for p, err := range Pages(ctx, fetch) {
		require.NoError(t, err)
		sizes = append(sizes, len(p.Items))
	}
	assert.Equal(t, []int{2, 1, 1}, sizes)
	assert.Equal(t, []string{"", "x", "y"}, tokens)

	all, err := collect(t, Items(ctx, PageFetcher[int](fetch)))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4}, all)

	boom := errors.New("boom")
	_, err = collect(t, Items(ctx, func(context.Context, string) (Page[int], error) { return Page[int]{}, boom }))
	assert.ErrorIs(t, err, boom)

	calls := 0
	loop := func(context.Context, string) (Page[int], error) {
		if calls++; calls > 50 {
			return Page[int]{}, errors.New("the iteration does not stop")
		}
		return Page[int]{Items: []int{1}, NextPageToken: "same"}, nil
	}
	got, err := collect(t, Items(ctx, loop))
	e := requireClass(t, err, ClassPagination)
	assert.Equal(t, []int{1, 1}, got)
	assert.Empty(t, e.Route)
	assert.Equal(t, "circleci: pagination: page 2 returned the next_page_token already used for page 2; stopping to avoid an endless loop", e.Error())
}

// chainFetcher serves the pages of chain, recording the tokens asked for.
func chainFetcher(chain map[string]Page[string], asked *[]string) PageFetcher[string] {
	return func(_ context.Context, tok string) (Page[string], error) {
		*asked = append(*asked, tok)
		if len(*asked) > 50 {
			return Page[string]{}, errors.New("the iteration does not stop")
		}
		p, ok := chain[tok]
		if !ok {
			return Page[string]{}, fmt.Errorf("unknown page token %q", tok)
		}
		return p, nil
	}
}

func TestPagesFrom(t *testing.T) {
	ctx := context.Background()
	chain := map[string]Page[string]{
		"":  {Items: []string{"1", "2"}, NextPageToken: "A"},
		"A": {Items: []string{"3"}, NextPageToken: "B"},
		"B": {Items: []string{"4", "5"}, NextPageToken: "C"},
		"C": {Items: []string{"6"}},
	}

	t.Run("resume mid-chain yields exactly the remaining pages", func(t *testing.T) {
		var asked []string
		var got []Page[string]
		for p, err := range PagesFrom(ctx, "B", chainFetcher(chain, &asked)) {
			require.NoError(t, err)
			got = append(got, p)
		}
		assert.Equal(t, []Page[string]{chain["B"], chain["C"]}, got)
		assert.Equal(t, []string{"B", "C"}, asked)

		asked = nil
		all, err := collect(t, ItemsFrom(ctx, "A", chainFetcher(chain, &asked)))
		require.NoError(t, err)
		assert.Equal(t, []string{"3", "4", "5", "6"}, all)
		assert.Equal(t, []string{"A", "B", "C"}, asked)
	})

	t.Run("resume at the last page", func(t *testing.T) {
		var asked []string
		all, err := collect(t, ItemsFrom(ctx, "C", chainFetcher(chain, &asked)))
		require.NoError(t, err)
		assert.Equal(t, []string{"6"}, all)
		assert.Equal(t, []string{"C"}, asked)
	})

	t.Run("an empty start token is Pages", func(t *testing.T) {
		var asked []string
		all, err := collect(t, ItemsFrom(ctx, "", chainFetcher(chain, &asked)))
		require.NoError(t, err)
		assert.Equal(t, []string{"1", "2", "3", "4", "5", "6"}, all)
		assert.Equal(t, []string{"", "A", "B", "C"}, asked)
	})

	t.Run("break stops fetching", func(t *testing.T) {
		var asked []string
		for range PagesFrom(ctx, "A", chainFetcher(chain, &asked)) {
			break
		}
		assert.Equal(t, []string{"A"}, asked)
	})

	t.Run("an error ends the iteration", func(t *testing.T) {
		var asked []string
		got, err := collect(t, ItemsFrom(ctx, "stale", chainFetcher(chain, &asked)))
		require.ErrorContains(t, err, `unknown page token "stale"`)
		assert.Empty(t, got)
		assert.Equal(t, []string{"stale"}, asked)
	})
}

func TestPagesFromCycles(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		chain     map[string]Page[string]
		start     string
		wantItems []string
		wantAsked []string
		wantMsg   string
	}{
		{
			name: "back to the start token",
			chain: map[string]Page[string]{
				"A": {Items: []string{"3"}, NextPageToken: "B"},
				"B": {Items: []string{"4"}, NextPageToken: "A"},
			},
			start: "A", wantItems: []string{"3", "4"}, wantAsked: []string{"A", "B"},
			wantMsg: "page 2 returned the next_page_token already used for page 1",
		},
		{
			name:  "the start token repeats itself",
			chain: map[string]Page[string]{"A": {Items: []string{"3"}, NextPageToken: "A"}},
			start: "A", wantItems: []string{"3"}, wantAsked: []string{"A"},
			wantMsg: "page 1 returned the next_page_token already used for page 1",
		},
		{
			name: "a cycle after the start",
			chain: map[string]Page[string]{
				"A": {Items: []string{"3"}, NextPageToken: "B"},
				"B": {Items: []string{"4"}, NextPageToken: "C"},
				"C": {Items: []string{"5"}, NextPageToken: "B"},
			},
			start: "A", wantItems: []string{"3", "4", "5"}, wantAsked: []string{"A", "B", "C"},
			wantMsg: "page 3 returned the next_page_token already used for page 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			got, err := collect(t, ItemsFrom(ctx, tt.start, chainFetcher(tt.chain, &asked)))
			e := requireClass(t, err, ClassPagination)
			assert.Equal(t, tt.wantItems, got, "every page before the loop is yielded")
			assert.Equal(t, tt.wantAsked, asked, "no page is fetched twice")
			assert.Contains(t, e.Message, tt.wantMsg)
			assert.True(t, e.Continuation, "the request carried a page token")
			assert.False(t, e.Retryable())
		})
	}
}

// TestPagesFromClient resumes a client listing from a saved token: the requests
// carry that token, then the next ones, with the list's filters.
func TestPagesFromClient(t *testing.T) {
	pages := map[string]pageSpec{
		"":  {ids: []string{"p1", "p2"}, next: "A"},
		"A": {ids: []string{"p3"}, next: "B"},
		"B": {ids: []string{"p4", "p5"}},
	}
	c, rec, _ := newTestClient(t, pagedHandler(t, pages, pipelineItem))
	ctx := context.Background()
	first, err := c.ProjectPipelinesPage(ctx, "gh/acme/widgets", "main", "")
	require.NoError(t, err)
	checkpoint := first.NextPageToken
	require.Equal(t, "A", checkpoint)

	var ids []string
	for p, err := range ItemsFrom(ctx, checkpoint, func(ctx context.Context, tok string) (Page[Pipeline], error) {
		return c.ProjectPipelinesPage(ctx, "gh/acme/widgets", "main", tok)
	}) {
		require.NoError(t, err)
		ids = append(ids, p.ID)
	}
	assert.Equal(t, []string{"p3", "p4", "p5"}, ids)
	reqs := rec.all()
	require.Len(t, reqs, 3)
	for i, want := range []string{"", "A", "B"} {
		q, err := url.ParseQuery(reqs[i].RawQuery)
		require.NoError(t, err)
		assert.Equal(t, want, q.Get("page-token"))
		assert.Equal(t, "main", q.Get("branch"))
	}
}

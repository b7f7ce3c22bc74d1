package circleci

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// OrgPipelinesPage returns one page of an organization's pipelines, newest first. It
// covers only followed projects, at most the 250 most recently built: a discovery
// scan, not a complete history. An empty orgSlug leaves the parameter out.
func (c *Client) OrgPipelinesPage(ctx context.Context, orgSlug, pageToken string) (Page[Pipeline], error) {
	q := url.Values{}
	if orgSlug != "" {
		q.Set(paramOrgSlug, orgSlug)
	}
	setPageToken(q, pageToken)
	r := &request{method: http.MethodGet, route: RouteOrgPipelines, path: "/api/v2/pipeline", query: q}
	return getPage[Pipeline](ctx, c, r)
}

// ProjectPipelinesPage returns one page of a project's pipelines, newest first; a
// non-empty branch filters them and is sent again with every page token.
func (c *Client) ProjectPipelinesPage(ctx context.Context, slug, branch, pageToken string) (Page[Pipeline], error) {
	if slug == "" {
		return Page[Pipeline]{}, invalidArgument(http.MethodGet, RouteProjectPipelines, "empty project slug")
	}
	q := url.Values{}
	if branch != "" {
		q.Set(paramBranch, branch)
	}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RouteProjectPipelines,
		path:   "/api/v2/project/" + escapeSegment(slug) + "/pipeline",
		query:  q,
	}
	return getPage[Pipeline](ctx, c, r)
}

// Pipeline returns the pipeline with id id (GET /api/v2/pipeline/{pipeline-id}).
func (c *Client) Pipeline(ctx context.Context, id string) (Pipeline, error) {
	if id == "" {
		return Pipeline{}, invalidArgument(http.MethodGet, RoutePipeline, "empty pipeline id")
	}
	r := &request{method: http.MethodGet, route: RoutePipeline, path: "/api/v2/pipeline/" + escapeSegment(id)}
	return get(ctx, c, r, decodeObject[Pipeline])
}

// OrgPipelines iterates over the pipelines of OrgPipelinesPage, page after page
// (see Items).
func (c *Client) OrgPipelines(ctx context.Context, orgSlug string) iter.Seq2[Pipeline, error] {
	return items(pages(ctx, RouteOrgPipelines, func(ctx context.Context, tok string) (Page[Pipeline], error) {
		return c.OrgPipelinesPage(ctx, orgSlug, tok)
	}))
}

// ProjectPipelines iterates over a project's pipelines, newest first; stop once past
// those wanted, as each further page costs a request.
func (c *Client) ProjectPipelines(ctx context.Context, slug, branch string) iter.Seq2[Pipeline, error] {
	return items(pages(ctx, RouteProjectPipelines, func(ctx context.Context, tok string) (Page[Pipeline], error) {
		return c.ProjectPipelinesPage(ctx, slug, branch, tok)
	}))
}

// setPageToken adds the page-token parameter, left out for the first page.
func setPageToken(q url.Values, pageToken string) {
	if pageToken != "" {
		q.Set(paramPageToken, pageToken)
	}
}

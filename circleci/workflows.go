package circleci

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// PipelineWorkflowsPage returns one page of a pipeline's workflows; a pipeline past
// retention gives NotFoundExpired.
func (c *Client) PipelineWorkflowsPage(ctx context.Context, pipelineID, pageToken string) (Page[Workflow], error) {
	if pipelineID == "" {
		return Page[Workflow]{}, invalidArgument(http.MethodGet, RoutePipelineWorkflow, "empty pipeline id")
	}
	q := url.Values{}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RoutePipelineWorkflow,
		path:   "/api/v2/pipeline/" + escapeSegment(pipelineID) + "/workflow",
		query:  q,
	}
	return getPage[Workflow](ctx, c, r)
}

// Workflow returns the workflow with id id (GET /api/v2/workflow/{id}).
func (c *Client) Workflow(ctx context.Context, id string) (Workflow, error) {
	if id == "" {
		return Workflow{}, invalidArgument(http.MethodGet, RouteWorkflow, "empty workflow id")
	}
	r := &request{method: http.MethodGet, route: RouteWorkflow, path: "/api/v2/workflow/" + escapeSegment(id)}
	return get(ctx, c, r, decodeObject[Workflow])
}

// PipelineWorkflows iterates over the workflows of a pipeline, page after page (see
// Items).
func (c *Client) PipelineWorkflows(ctx context.Context, pipelineID string) iter.Seq2[Workflow, error] {
	return items(pages(ctx, RoutePipelineWorkflow, func(ctx context.Context, tok string) (Page[Workflow], error) {
		return c.PipelineWorkflowsPage(ctx, pipelineID, tok)
	}))
}

package circleci

import (
	"context"
	"iter"
	"net/http"
	"net/url"
)

// WorkflowJobsPage returns one page of a workflow's jobs, each with WorkflowID set. It
// sends page-token although the spec omits it (the list pages in practice). A workflow
// past retention gives NotFoundExpired.
func (c *Client) WorkflowJobsPage(ctx context.Context, workflowID, pageToken string) (Page[Job], error) {
	if workflowID == "" {
		return Page[Job]{}, invalidArgument(http.MethodGet, RouteWorkflowJobs, "empty workflow id")
	}
	q := url.Values{}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RouteWorkflowJobs,
		path:   "/api/v2/workflow/" + escapeSegment(workflowID) + "/job",
		query:  q,
	}
	p, err := getPage[Job](ctx, c, r)
	if err != nil {
		return p, err
	}
	for i := range p.Items {
		p.Items[i].WorkflowID = workflowID
	}
	return p, nil
}

// WorkflowJobs iterates over the jobs of a workflow, page after page (see Items),
// with Job.WorkflowID set.
func (c *Client) WorkflowJobs(ctx context.Context, workflowID string) iter.Seq2[Job, error] {
	return items(pages(ctx, RouteWorkflowJobs, func(ctx context.Context, tok string) (Page[Job], error) {
		return c.WorkflowJobsPage(ctx, workflowID, tok)
	}))
}

package circleci

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// RouteJobTests is the route of a job's test results.
const RouteJobTests = "/api/v2/project/{project-slug}/{job-number}/tests"

// TestResult is one test result of a job (spec: the items of TestsResponse). A job
// with more than 250 MB of test data answers no results at all.
type TestResult struct {
	Message   *string `json:"message"`
	Source    string  `json:"source"`
	RunTime   float64 `json:"run_time"`
	File      string  `json:"file"`
	Result    string  `json:"result"`
	Name      string  `json:"name"`
	Classname string  `json:"classname"`
}

// JobTestsPage returns one page of the test results of the project's job number. It
// sends page-token although the spec omits it (the list pages in practice).
func (c *Client) JobTestsPage(ctx context.Context, slug string, number int64, pageToken string) (Page[TestResult], error) {
	if slug == "" || number <= 0 {
		return Page[TestResult]{}, invalidArgument(http.MethodGet, RouteJobTests, "empty project slug or job number")
	}
	q := url.Values{}
	setPageToken(q, pageToken)
	r := &request{
		method: http.MethodGet,
		route:  RouteJobTests,
		path:   "/api/v2/project/" + escapeSegment(slug) + "/" + strconv.FormatInt(number, 10) + "/tests",
		query:  q,
	}
	return getPage[TestResult](ctx, c, r)
}

// JobTests iterates over the test results of a job, page after page (see Items).
func (c *Client) JobTests(ctx context.Context, slug string, number int64) iter.Seq2[TestResult, error] {
	return items(pages(ctx, RouteJobTests, func(ctx context.Context, tok string) (Page[TestResult], error) {
		return c.JobTestsPage(ctx, slug, number, tok)
	}))
}

package circleci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// respond writes status, headers and body.
func respond(status int, headers map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const badGatewayHTML = `<!DOCTYPE html>
<html><head><meta charset="utf-8">
  <title>
    502 Bad Gateway &amp; friends
  </title><style>body{font-family:sans-serif}</style></head>
<body><h1>502 Bad Gateway</h1><p>` + "The upstream server is unreachable. Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua." + `</p>
<hr><center>cloudflare</center></body></html>`

func TestHTTPErrorClasses(t *testing.T) {
	for _, tt := range httpErrorCases(context.Background()) {
		t.Run(tt.name, func(t *testing.T) {
			c, rec, _ := newTestClient(t, tt.handler)
			err := tt.call(c)
			e := requireClass(t, err, tt.class)
			assert.Equal(t, 1, rec.count(), "exactly one request, no retry")
			assert.Equal(t, tt.status, e.StatusCode)
			assert.Equal(t, http.MethodGet, e.Method)
			assert.Equal(t, tt.route, e.Route)
			if tt.messageSuffix != "" {
				assert.True(t, strings.HasSuffix(e.Message, tt.messageSuffix), e.Message)
				assert.LessOrEqual(t, utf8.RuneCountInString(e.Message), maxMessageRunes)
			} else {
				assert.Equal(t, tt.message, e.Message)
			}
			assert.Equal(t, tt.retryAfter, e.RetryAfter)
			assert.Equal(t, tt.retryable, e.Retryable())
			assert.Equal(t, tt.retryable, IsRetryable(err))
			assert.Equal(t, tt.connCode, e.ConnectionErrorCode())
			assert.Equal(t, tt.notFound, e.NotFoundKind())
			assert.Equal(t, tt.expired, e.Expired())
			assert.Equal(t, tt.projectMiss, e.ProjectMissing())
			assert.True(t, IsClass(err, tt.class))
			assert.Equal(t, tt.class, ClassOf(err))
			assert.Contains(t, err.Error(), tt.route)
			assert.Contains(t, err.Error(), strconv.Itoa(tt.status))
			assert.LessOrEqual(t, len(err.Error()), 600, "never the whole body")
		})
	}
}

// httpErrorCase is one case of TestHTTPErrorClasses: a server's answer to a
// call, and the error the call must return.
type httpErrorCase struct {
	name          string
	handler       http.HandlerFunc
	call          func(*Client) error
	class         Class
	status        int
	route         string
	message       string
	retryAfter    time.Duration
	retryable     bool
	connCode      string
	notFound      NotFoundKind
	expired       bool
	projectMiss   bool
	messageSuffix string
}

// httpErrorCases are TestHTTPErrorClasses' cases; their calls use ctx.
func httpErrorCases(ctx context.Context) []httpErrorCase {
	me := func(c *Client) error { _, err := c.Me(ctx); return err }
	project := func(c *Client) error { _, err := c.Project(ctx, "gh/acme/gone"); return err }
	projectPipelines := func(tok string) func(c *Client) error {
		return func(c *Client) error { _, err := c.ProjectPipelinesPage(ctx, "gh/acme/widgets", "", tok); return err }
	}
	jobs := func(c *Client) error { _, err := c.WorkflowJobsPage(ctx, "old-workflow", ""); return err }
	workflows := func(c *Client) error { _, err := c.PipelineWorkflowsPage(ctx, "old-pipeline", ""); return err }
	user := func(c *Client) error { _, err := c.User(ctx, "deleted-user"); return err }
	pipeline := func(c *Client) error { _, err := c.Pipeline(ctx, "p"); return err }

	return []httpErrorCase{
		{
			name:    "401 on /me",
			handler: respond(401, map[string]string{"Content-Type": "application/json"}, `{"message": "Invalid token provided."}`),
			call:    me, class: ClassUnauthorized, status: 401, route: RouteMe,
			message: "Invalid token provided.", connCode: "invalid_credentials",
		},
		{
			name:    "401 legacy message",
			handler: respond(401, nil, `{"message":"You must log in first."}`),
			call:    me, class: ClassUnauthorized, status: 401, route: RouteMe,
			message: "You must log in first.", connCode: "invalid_credentials",
		},
		{
			name:    "403",
			handler: respond(403, nil, `{"message":"Permission denied."}`),
			call:    me, class: ClassForbidden, status: 403, route: RouteMe,
			message: "Permission denied.", connCode: "invalid_permissions",
		},
		{
			name:    "404 project not found",
			handler: respond(404, nil, `{"message":"Project not found"}`),
			call:    project, class: ClassNotFound, status: 404, route: RouteProject,
			message: "Project not found", notFound: NotFoundProject, projectMiss: true,
		},
		{
			name:    "404 project pipelines first page",
			handler: respond(404, nil, `{"message":"Project not found"}`),
			call:    projectPipelines(""), class: ClassNotFound, status: 404, route: RouteProjectPipelines,
			message: "Project not found", notFound: NotFoundProject, projectMiss: true,
		},
		{
			name:    "404 on a page token",
			handler: respond(404, nil, `{"message":"Not Found"}`),
			call:    projectPipelines("AARLwwV4"), class: ClassNotFound, status: 404, route: RouteProjectPipelines,
			message: "Not Found", notFound: NotFoundPageToken,
		},
		{
			name:    "404 workflow job list is expired",
			handler: respond(404, nil, `{"message":"Not Found"}`),
			call:    jobs, class: ClassNotFound, status: 404, route: RouteWorkflowJobs,
			message: "Not Found", notFound: NotFoundExpired, expired: true,
		},
		{
			name:    "404 pipeline workflow list is expired",
			handler: respond(404, nil, `{"message":"Not Found"}`),
			call:    workflows, class: ClassNotFound, status: 404, route: RoutePipelineWorkflow,
			message: "Not Found", notFound: NotFoundExpired, expired: true,
		},
		{
			name:    "404 user",
			handler: respond(404, nil, `{"message":"User does not exist."}`),
			call:    user, class: ClassNotFound, status: 404, route: RouteUser,
			message: "User does not exist.", notFound: NotFoundEntity,
		},
		{
			name:    "410 gone is not found",
			handler: respond(410, nil, ``),
			call:    pipeline, class: ClassNotFound, status: 410, route: RoutePipeline,
			message: "Gone", notFound: NotFoundEntity,
		},
		{
			name:    "429 Retry-After seconds",
			handler: respond(429, map[string]string{"Retry-After": "7"}, `{"message":"Rate limit exceeded."}`),
			call:    me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limit exceeded.", retryAfter: 7 * time.Second, retryable: true,
		},
		{
			name: "429 Retry-After HTTP date",
			handler: respond(429, map[string]string{
				"Date":        "Tue, 30 Sep 2025 12:00:00 GMT",
				"Retry-After": "Tue, 30 Sep 2025 12:00:30 GMT",
			}, `{"message":"Rate limit exceeded."}`),
			call: me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limit exceeded.", retryAfter: 30 * time.Second, retryable: true,
		},
		{
			name:    "429 RateLimit-Reset only",
			handler: respond(429, map[string]string{"RateLimit-Reset": "12", "RateLimit-Remaining": "0"}, `{"message":"Rate limit exceeded."}`),
			call:    me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limit exceeded.", retryAfter: 12 * time.Second, retryable: true,
		},
		{
			name:    "429 X-RateLimit-Reset only",
			handler: respond(429, map[string]string{"X-RateLimit-Reset": "9"}, `{"message":"Rate limit exceeded."}`),
			call:    me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limit exceeded.", retryAfter: 9 * time.Second, retryable: true,
		},
		{
			name:    "429 plain-text body, no hint",
			handler: respond(429, map[string]string{"Content-Type": "text/plain"}, "Rate limited.\n"),
			call:    me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limited.", retryable: true,
		},
		{
			name:    "429 absurd Retry-After is clamped",
			handler: respond(429, map[string]string{"Retry-After": "86400"}, "Rate limited."),
			call:    me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limited.", retryAfter: MaxRetryAfter, retryable: true,
		},
		{
			name:    "429 invalid Retry-After falls back on reset",
			handler: respond(429, map[string]string{"Retry-After": "soon", "X-RateLimit-Reset": "4"}, "Rate limited."),
			call:    me, class: ClassRateLimited, status: 429, route: RouteMe,
			message: "Rate limited.", retryAfter: 4 * time.Second, retryable: true,
		},
		{
			name:    "502 HTML page",
			handler: respond(502, map[string]string{"Content-Type": "text/html; charset=utf-8"}, badGatewayHTML),
			call:    jobs, class: ClassServer, status: 502, route: RouteWorkflowJobs,
			message: "HTML error page: 502 Bad Gateway & friends", retryable: true,
		},
		{
			name:    "503 HTML without title and content type",
			handler: respond(503, map[string]string{"Retry-After": "3"}, "<html><body>down</body></html>"),
			call:    me, class: ClassServer, status: 503, route: RouteMe,
			message: "HTML error page", retryAfter: 3 * time.Second, retryable: true,
		},
		{
			name:    "500 JSON",
			handler: respond(500, nil, `{"message":"Internal server error."}`),
			call:    me, class: ClassServer, status: 500, route: RouteMe,
			message: "Internal server error.", retryable: true,
		},
		{
			name:    "500 empty body gives the status text",
			handler: respond(500, nil, ``),
			call:    me, class: ClassServer, status: 500, route: RouteMe,
			message: "Internal Server Error", retryable: true,
		},
		{
			name:    "400 error key wins over message",
			handler: respond(400, nil, `{"error":"invalid pipeline id","message":"ignored"}`),
			call:    pipeline, class: ClassBadRequest, status: 400, route: RoutePipeline,
			message: "invalid pipeline id",
		},
		{
			name:    "422 v3-style error object",
			handler: respond(422, nil, `{"error":{"id":"x","title":"Unprocessable","detail":"page[limit] too large"}}`),
			call:    me, class: ClassBadRequest, status: 422, route: RouteMe,
			message: "page[limit] too large",
		},
		{
			name:    "400 JSON without message uses the body",
			handler: respond(400, nil, `{"errors":["a","b"]}`),
			call:    me, class: ClassBadRequest, status: 400, route: RouteMe,
			message: `{"errors":["a","b"]}`,
		},
		{
			name:    "long text body is truncated",
			handler: respond(500, nil, strings.Repeat("é", 500)),
			call:    me, class: ClassServer, status: 500, route: RouteMe,
			messageSuffix: "…", retryable: true,
		},
	}
}

func TestDecodeErrors(t *testing.T) {
	ctx := context.Background()
	big := `{"items":[` + strings.Repeat(pipelineJSON+",", 3) + pipelineJSON + `],"next_page_token":null}`
	tests := []struct {
		name    string
		body    string
		max     int64
		call    func(*Client) error
		reason  string
		wrapped bool
	}{
		{
			name: "body over the size limit", body: big, max: 1024,
			call:   func(c *Client) error { _, err := c.ProjectPipelinesPage(ctx, "gh/a/b", "", ""); return err },
			reason: "response body exceeds the 1024-byte limit",
		},
		{
			name: "truncated JSON", body: pipelinePageJSON[:len(pipelinePageJSON)/2],
			call:   func(c *Client) error { _, err := c.ProjectPipelinesPage(ctx, "gh/a/b", "", ""); return err },
			reason: "truncated JSON", wrapped: true,
		},
		{
			name: "malformed JSON", body: `{"items": [}`,
			call:   func(c *Client) error { _, err := c.ProjectPipelinesPage(ctx, "gh/a/b", "", ""); return err },
			reason: "invalid JSON", wrapped: true,
		},
		{
			name: "trailing garbage", body: userJSON + ` {}`,
			call:   func(c *Client) error { _, err := c.Me(ctx); return err },
			reason: "invalid JSON", wrapped: true,
		},
		{
			name: "wrong type", body: `{"items":[{"id":"p","number":"4812"}],"next_page_token":null}`,
			call:   func(c *Client) error { _, err := c.ProjectPipelinesPage(ctx, "gh/a/b", "", ""); return err },
			reason: "a field has the wrong type", wrapped: true,
		},
		{
			name: "wrong type of next_page_token", body: `{"items":[],"next_page_token":42}`,
			call:   func(c *Client) error { _, err := c.PipelineWorkflowsPage(ctx, "p", ""); return err },
			reason: "next_page_token is not a string or null",
		},
		{
			name: "plain text 200", body: "Rate limited.",
			call:   func(c *Client) error { _, err := c.Me(ctx); return err },
			reason: "expected a JSON object, got text that is not JSON",
		},
		{
			name: "HTML 200", body: "<!doctype html><title>Login</title>",
			call:   func(c *Client) error { _, err := c.Me(ctx); return err },
			reason: "expected a JSON object, got markup (HTML or XML)",
		},
		{
			name: "empty 200", body: "",
			call:   func(c *Client) error { _, err := c.Me(ctx); return err },
			reason: "empty response body, expected a JSON object",
		},
		{
			name: "null 200", body: "null",
			call:   func(c *Client) error { _, err := c.User(ctx, "u"); return err },
			reason: "expected a JSON object, got null",
		},
		{
			name: "object where an array is expected", body: `{"items":[]}`,
			call:   func(c *Client) error { _, err := c.Collaborations(ctx); return err },
			reason: "expected a JSON array, got a JSON object",
		},
		{
			name: "array where an object is expected", body: collaborationsJSON,
			call:   func(c *Client) error { _, err := c.Project(ctx, "gh/a/b"); return err },
			reason: "expected a JSON object, got a JSON array",
		},
		{
			name: "user without id", body: `{"login":"ghost"}`,
			call:   func(c *Client) error { _, err := c.User(ctx, "u"); return err },
			reason: "user has no id",
		},
		{
			name: "list item without id", body: `{"items":[` + jobBuildJSON + `,{"name":"x"}]}`,
			call:   func(c *Client) error { _, err := c.WorkflowJobsPage(ctx, "w", ""); return err },
			reason: "item 1: job has no id",
		},
		{
			name: "null list item", body: `{"items":[null]}`,
			call:   func(c *Client) error { _, err := c.PipelineWorkflowsPage(ctx, "p", ""); return err },
			reason: "item 0: workflow has no id",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newTestClient(t, jsonBody(200, tt.body), func(o *Options) { o.MaxBodyBytes = tt.max })
			err := tt.call(c)
			e := requireClass(t, err, ClassDecode)
			assert.Equal(t, 200, e.StatusCode)
			assert.Equal(t, tt.reason, e.Message)
			assert.NotEmpty(t, e.Route)
			assert.False(t, e.Retryable())
			assert.Equal(t, tt.wrapped, e.Err != nil, "cause: %v", e.Err)
			assert.NotContains(t, err.Error(), "acme/widgets", "no body in the error")
			assert.LessOrEqual(t, len(err.Error()), 400)
		})
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("server unreachable", func(t *testing.T) {
		var statuses []int
		c, _, srv := newTestClient(t, jsonBody(200, userJSON), func(o *Options) {
			o.Observer = ObserverFunc(func(_, _ string, status int, _ time.Duration) { statuses = append(statuses, status) })
		})
		srv.Close()
		_, err := c.Me(context.Background())
		e := requireClass(t, err, ClassTransport)
		assert.Zero(t, e.StatusCode)
		assert.True(t, e.Retryable())
		assert.Equal(t, RouteMe, e.Route)
		assert.NotContains(t, err.Error(), srv.URL, "the URL is not repeated, the route names the request")
		assert.Equal(t, []int{0}, statuses, "observed with status 0")
	})

	t.Run("context already cancelled", func(t *testing.T) {
		c, rec, _ := newTestClient(t, jsonBody(200, userJSON))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := c.Me(ctx)
		e := requireClass(t, err, ClassTransport)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, "waiting for the rate limiter", e.Message)
		assert.Zero(t, rec.count())
	})

	t.Run("deadline while the server hangs", func(t *testing.T) {
		c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := c.WorkflowJobsPage(ctx, "w", "")
		e := requireClass(t, err, ClassTransport)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, RouteWorkflowJobs, e.Route)
	})

	t.Run("cancelled while reading the body", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			_, _ = io.WriteString(w, `{"items":[`)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, func(o *Options) {
			// Cancel as soon as the response headers are in, before the body is read.
			o.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				resp, err := http.DefaultTransport.RoundTrip(r)
				cancel()
				return resp, err
			})}
		})
		_, err := c.PipelineWorkflowsPage(ctx, "p", "")
		e := requireClass(t, err, ClassTransport)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 200, e.StatusCode)
		assert.Equal(t, "reading the response body", e.Message)
	})

	t.Run("body cut short", func(t *testing.T) {
		c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000")
			_, _ = io.WriteString(w, pipelinePageJSON[:100])
			// returning closes the connection before the declared length
		})
		_, err := c.ProjectPipelinesPage(context.Background(), "gh/a/b", "", "")
		e := requireClass(t, err, ClassTransport)
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.True(t, e.Retryable())
	})
}

// TestTokenNeverInErrors forces every error class, with a server that echoes the
// token everywhere it can, and checks that no error text contains it.
func TestTokenNeverInErrors(t *testing.T) {
	ctx := context.Background()
	echo := func(status int, contentType, format string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := r.Header.Get("Circle-Token")
			w.Header().Set("Content-Type", contentType)
			w.Header().Set("X-Echo", tok)
			w.WriteHeader(status)
			_, _ = fmt.Fprintf(w, format, tok)
		}
	}
	type tc struct {
		name    string
		class   Class
		handler http.HandlerFunc
		call    func(c *Client) error
	}
	me := func(c *Client) error { _, err := c.Me(ctx); return err }
	cases := []tc{
		{name: "unauthorized", class: ClassUnauthorized, handler: echo(401, "application/json", `{"message":"Invalid token %s"}`), call: me},
		{name: "forbidden", class: ClassForbidden, handler: echo(403, "application/json", `{"error":"token %s lacks scope"}`), call: me},
		{name: "not found", class: ClassNotFound, handler: echo(404, "application/json", `{"message":"Project not found for %s"}`),
			call: func(c *Client) error { _, err := c.Project(ctx, "gh/a/b"); return err }},
		{name: "rate limited", class: ClassRateLimited, handler: echo(429, "text/plain", "Rate limited. token=%s"), call: me},
		{name: "server html", class: ClassServer, handler: echo(502, "text/html", "<html><title>Bad gateway %s</title></html>"), call: me},
		{name: "server text", class: ClassServer, handler: echo(500, "text/plain", strings.Repeat("x", 190)+"%s"), call: me},
		{name: "bad request", class: ClassBadRequest, handler: echo(400, "application/json", `{"message":"bad %s"}`), call: me},
		{name: "decode", class: ClassDecode, handler: echo(200, "application/json", `{"id": %q, "login": 12}`), call: me},
		{name: "decode text", class: ClassDecode, handler: echo(200, "text/plain", `%s`), call: me},
		{name: "pagination", class: ClassPagination, handler: echo(200, "application/json", `{"items":[],"next_page_token":%q}`),
			call: func(c *Client) error {
				n := 0
				fetch := func(ctx context.Context, tok string) (Page[Pipeline], error) {
					if n++; n > 50 {
						return Page[Pipeline]{}, errors.New("the iteration does not stop")
					}
					return c.ProjectPipelinesPage(ctx, "gh/a/b", "", tok)
				}
				for _, err := range pages(ctx, RouteProjectPipelines, fetch) {
					if err != nil {
						return err
					}
				}
				return nil
			}},
		{name: "transport", class: ClassTransport, handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			_, _ = io.WriteString(w, r.Header.Get("Circle-Token"))
		}, call: me},
		{name: "transport cancelled", class: ClassTransport, handler: jsonBody(200, userJSON), call: func(c *Client) error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.Me(cctx)
			return err
		}},
		{name: "bad argument", class: ClassBadRequest, handler: jsonBody(200, userJSON), call: func(c *Client) error {
			_, err := c.User(ctx, "")
			return err
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newTestClient(t, tt.handler)
			err := tt.call(c)
			requireClass(t, err, tt.class)
			for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				assert.NotContains(t, s, testToken)
			}
			for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
				assert.NotContains(t, u.Error(), testToken)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		c, _, srv := newTestClient(t, jsonBody(200, userJSON))
		srv.Close()
		_, err := c.Me(ctx)
		requireClass(t, err, ClassTransport)
		assert.NotContains(t, err.Error(), testToken)
	})

	t.Run("New errors", func(t *testing.T) {
		for _, base := range []string{
			"https://circleci.com/?circle-token=" + testToken,
			"https://" + testToken + "@circleci.com",
			"https://circleci.com/#" + testToken,
			"https://x:" + testToken + "@circleci.com",
			"https://circleci.com/%zz" + testToken,
		} {
			_, err := New(Options{BaseURL: base, Token: testToken})
			require.Error(t, err, base)
			assert.NotContains(t, err.Error(), testToken)
		}
		_, err := New(Options{Token: testToken + "\n\x00"})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), testToken)
	})
}

func TestErrorText(t *testing.T) {
	e := &Error{Class: ClassRateLimited, StatusCode: 429, Method: "GET", Route: RouteMe, Message: "Rate limited.", RetryAfter: 2 * time.Second}
	assert.Equal(t, "circleci: GET /api/v2/me: rate_limited (HTTP 429, retry after 2s): Rate limited.", e.Error())

	e = &Error{Class: ClassTransport, Method: "GET", Route: RouteWorkflowJobs, Err: context.DeadlineExceeded}
	assert.Equal(t, "circleci: GET /api/v2/workflow/{id}/job: transport: context deadline exceeded", e.Error())
	assert.ErrorIs(t, e, context.DeadlineExceeded)

	e = &Error{Class: ClassPagination, Message: "loop"}
	assert.Equal(t, "circleci: pagination: loop", e.Error())

	var nilErr *Error
	assert.Equal(t, "circleci: <nil>", nilErr.Error())
	assert.False(t, nilErr.Retryable())
	assert.Empty(t, nilErr.ConnectionErrorCode())
	assert.Empty(t, nilErr.NotFoundKind())
	assert.NoError(t, nilErr.Unwrap())

	wrapped := fmt.Errorf("activity: %w", &Error{Class: ClassNotFound, Route: RouteWorkflowJobs})
	got, ok := AsError(wrapped)
	require.True(t, ok)
	assert.True(t, got.Expired())
	assert.True(t, IsClass(wrapped, ClassNotFound))
	assert.False(t, IsClass(wrapped, ClassServer))
	assert.False(t, IsClass(errors.New("x"), ClassServer))
	assert.Empty(t, ClassOf(errors.New("x")))
	_, ok = AsError(nil)
	assert.False(t, ok)
}

// TestErrorMessageExtraction covers errorMessage directly.
func TestErrorMessageExtraction(t *testing.T) {
	redact := func(s string) string { return strings.ReplaceAll(s, "SECRET", "[REDACTED]") }
	tests := []struct {
		name, ct, body, want string
	}{
		{"message", "application/json", `{"message":"Project not found"}`, "Project not found"},
		{"error string", "", `{"error":"Bad"}`, "Bad"},
		{"blank error falls to message", "", `{"error":"  ","message":"M"}`, "M"},
		{"non-string message", "", `{"message":42}`, `{"message":42}`},
		{"plain text", "text/plain", "  Rate limited.\r\n", "Rate limited."},
		{"multi-line text", "", "line one\n\tline two", "line one line two"},
		{"control characters", "", "a\x1b[31mred\x00b", "a [31mred b"},
		{"invalid utf-8", "", "bad \xff byte", "bad \uFFFD byte"},
		{"html by sniffing", "", "<HTML><HEAD><TITLE>Oops</TITLE></HEAD></HTML>", "HTML error page: Oops"},
		{"html no title", "text/html", "<p>hi</p>", "HTML error page"},
		{"redacted before truncation", "", strings.Repeat("a", 195) + "SECRET", strings.Repeat("a", 195) + "[RED…"},
		{"empty", "", "   ", "Bad Gateway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, errorMessage(502, tt.ct, []byte(tt.body), redact))
		})
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 9, 30, 12, 0, 0, 0, time.UTC)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"none", h(), 0},
		{"seconds", h("Retry-After", "5"), 5 * time.Second},
		{"fractional seconds", h("Retry-After", "1.5"), 1500 * time.Millisecond},
		{"date without Date header", h("Retry-After", now.Add(20*time.Second).Format(http.TimeFormat)), 20 * time.Second},
		{"date in the past", h("Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), 0},
		{"negative", h("Retry-After", "-3"), 0},
		{"reset seconds", h("RateLimit-Reset", "8"), 8 * time.Second},
		{"reset as unix time", h("X-RateLimit-Reset", strconv.FormatInt(now.Add(45*time.Second).Unix(), 10)), 45 * time.Second},
		{"both resets, the longer", h("RateLimit-Reset", "8", "X-RateLimit-Reset", "11"), 11 * time.Second},
		{"Retry-After wins over reset", h("Retry-After", "2", "RateLimit-Reset", "8"), 2 * time.Second},
		{"clamped", h("RateLimit-Reset", "100000"), MaxRetryAfter},
		{"NaN ignored", h("Retry-After", "NaN"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, rateLimitDelay(tt.h, now))
		})
	}
}

// TestConcurrentErrorsAreIndependent makes sure *Error values are not shared.
func TestConcurrentErrorsAreIndependent(t *testing.T) {
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		respond(404, nil, `{"message":"`+r.URL.Path+`"}`)(w, r)
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := strconv.Itoa(i)
			_, err := c.User(context.Background(), id)
			e := requireClass(t, err, ClassNotFound)
			assert.Equal(t, "/api/v2/user/"+id, e.Message)
		}()
	}
	wg.Wait()
}

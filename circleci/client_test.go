package circleci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewBaseURL(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "", want: "https://circleci.com"},
		{in: "https://circleci.com", want: "https://circleci.com"},
		{in: "https://circleci.com/", want: "https://circleci.com"},
		{in: "https://circleci.com/api/v2", want: "https://circleci.com"},
		{in: "https://circleci.com/api/v2/", want: "https://circleci.com"},
		{in: "https://circleci.acme.internal/api/v1.1", want: "https://circleci.acme.internal"},
		{in: "  http://server.local:8080//  ", want: "http://server.local:8080"},
		{in: "HTTPS://Server.Example.com/prefix/api/v2", want: "https://Server.Example.com/prefix"},
		{in: "circleci.com", wantErr: "absolute http or https"},
		{in: "ftp://circleci.com", wantErr: "absolute http or https"},
		{in: "https://", wantErr: "no host"},
		{in: "https:opaque", wantErr: "no host"},
		{in: "https://circleci.com/?x=1", wantErr: "query"},
		{in: "https://circleci.com/?", wantErr: "query"},
		{in: "https://circleci.com/#frag", wantErr: "fragment"},
		{in: "https://user:pw@circleci.com", wantErr: "user info"},
		{in: "https://circleci.com/%zz", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := New(Options{BaseURL: tt.in, Token: "t", Limiter: unlimited()})
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "pw", "user info must not be echoed")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.BaseURL())
		})
	}
}

func TestNewToken(t *testing.T) {
	_, err := New(Options{})
	require.ErrorContains(t, err, "token is required")
	_, err = New(Options{Token: " \n\t"})
	require.ErrorContains(t, err, "token is required")
	_, err = New(Options{Token: "abc\r\ndef"})
	require.ErrorContains(t, err, "not allowed")
	assert.NotContains(t, err.Error(), "abc")

	// The newline of a token file is trimmed.
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "tok", r.Header.Get("Circle-Token"))
		jsonBody(200, userJSON)(w, r)
	}, func(o *Options) { o.Token = "tok\n" })
	_, err = c.Me(context.Background())
	require.NoError(t, err)
}

func TestNewDefaults(t *testing.T) {
	c, err := New(Options{Token: testToken})
	require.NoError(t, err)
	assert.Equal(t, DefaultBaseURL, c.BaseURL())
	assert.Equal(t, DefaultMaxBodyBytes, c.maxBody)
	assert.Equal(t, DefaultUserAgent(), c.userAgent)
	assert.Regexp(t, `^circleci-sync/\S+ \(\+https://github\.com/circleci-sync/circleci-sync\)$`, c.userAgent)
	assert.Same(t, SharedLimiter(DefaultBaseURL, testToken, LimiterOptions{}), c.Limiter())
	assert.NotNil(t, c.http.CheckRedirect)
	assert.Zero(t, c.http.Timeout, "timeouts come from the context")

	Version = "v9.8.7"
	t.Cleanup(func() { Version = "" })
	assert.Equal(t, "circleci-sync/v9.8.7 (+https://github.com/circleci-sync/circleci-sync)", DefaultUserAgent())
}

func TestRequestHeaders(t *testing.T) {
	c, rec, _ := newTestClient(t, jsonBody(200, userJSON))
	_, err := c.Me(context.Background())
	require.NoError(t, err)
	reqs := rec.all()
	require.Len(t, reqs, 1)
	h := reqs[0].Header
	assert.Equal(t, testToken, h.Get("Circle-Token"))
	assert.Equal(t, "application/json", h.Get("Accept"))
	assert.Equal(t, DefaultUserAgent(), h.Get("User-Agent"))
	assert.Empty(t, h.Get("Authorization"))
	assert.Empty(t, reqs[0].RawQuery, "the token is never sent in the query")

	c2, rec2, _ := newTestClient(t, jsonBody(200, userJSON), func(o *Options) { o.UserAgent = "custom/1.0" })
	_, err = c2.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "custom/1.0", rec2.all()[0].Header.Get("User-Agent"))
}

func TestBaseURLPrefixAndTrailingAPI(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		jsonBody(200, userJSON)(w, r)
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL + "/circleci/api/v2/", Token: testToken, Limiter: unlimited()})
	require.NoError(t, err)
	_, err = c.Me(context.Background())
	require.NoError(t, err)
	_, err = c.FollowedProjects(context.Background())
	require.Error(t, err) // a user object is not an array; only the path matters here
	reqs := rec.all()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/circleci/api/v2/me", reqs[0].EscapedPath)
	assert.Equal(t, "/circleci/api/v1.1/projects", reqs[1].EscapedPath)
}

func TestRedactionInPrintedValues(t *testing.T) {
	opts := Options{BaseURL: "https://circleci.com", Token: testToken}
	c, err := New(opts)
	require.NoError(t, err)

	type holder struct {
		Opts   Options
		opts   Options // unexported: printed by reflection
		Client *Client
		client *Client
	}
	h := holder{Opts: opts, opts: Options{BaseURL: "x"}, Client: c, client: c}
	var printed []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d", "%T"} {
		printed = append(printed, fmt.Sprintf(verb, opts), fmt.Sprintf(verb, &opts),
			fmt.Sprintf(verb, c), fmt.Sprintf(verb, h), fmt.Sprintf(verb, []any{opts, c}))
	}
	printed = append(printed, opts.String(), opts.GoString(), c.String(), c.GoString())
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("config", "opts", opts, "client", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "opts", opts, "client", c)
	printed = append(printed, buf.String())
	js, err := json.Marshal(opts)
	require.NoError(t, err)
	printed = append(printed, string(js))

	for _, s := range printed {
		assert.NotContains(t, s, testToken)
		assert.NotContains(t, s, "S3CRET")
	}
	assert.Contains(t, opts.String(), redacted)
	assert.Contains(t, c.String(), redacted)
	assert.Contains(t, buf.String(), "https://circleci.com")
}

func TestRedirectDropsTokenOnOtherHost(t *testing.T) {
	var otherToken, sameToken string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherToken = r.Header.Get("Circle-Token")
		jsonBody(200, userJSON)(w, r)
	}))
	defer other.Close()
	c, _, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/me":
			http.Redirect(w, r, "/api/v2/user/same-host", http.StatusFound)
		case "/api/v2/user/same-host":
			sameToken = r.Header.Get("Circle-Token")
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
		}
	})
	_, err := c.Me(context.Background())
	require.NoError(t, err)
	assert.Equal(t, testToken, sameToken, "same host keeps the token")
	assert.Empty(t, otherToken, "another host must not get the token")
}

func TestCustomHTTPClientKept(t *testing.T) {
	var called bool
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		called = true
		return &http.Response{
			StatusCode: 200,
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(userJSON)),
			Request:    r,
		}, nil
	})}
	c, err := New(Options{Token: testToken, HTTPClient: hc, Limiter: unlimited(), BaseURL: "https://server.example"})
	require.NoError(t, err)
	u, err := c.Me(context.Background())
	require.NoError(t, err)
	assert.True(t, called)
	assert.Equal(t, "jdoe", u.Login)
	assert.Nil(t, hc.CheckRedirect, "the caller's client is not modified")
}

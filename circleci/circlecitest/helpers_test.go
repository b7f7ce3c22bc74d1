package circlecitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// resp is one raw HTTP answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// call sends a GET with the token in Circle-Token ("" for none).
func call(t *testing.T, s *Server, path, token string) resp {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Circle-Token", token)
	}
	req.Header.Set("Accept", "application/json")
	return do(t, s, req)
}

func do(t *testing.T, s *Server, req *http.Request) resp {
	t.Helper()
	r, err := s.Client().Do(req)
	require.NoError(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return resp{status: r.StatusCode, header: r.Header, body: b}
}

// get calls path with the server's token and decodes a 200 answer into v.
func get(t *testing.T, s *Server, path string, v any) {
	t.Helper()
	r := call(t, s, path, s.Token())
	require.Equal(t, http.StatusOK, r.status, "GET %s: %s", path, r.body)
	require.NoError(t, json.Unmarshal(r.body, v), "GET %s", path)
}

// message decodes an error body.
func message(t *testing.T, r resp) string {
	t.Helper()
	var m struct {
		Message *string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(r.body, &m), "body %q", r.body)
	require.NotNil(t, m.Message, "body %q", r.body)
	return *m.Message
}

// page is a decoded list answer.
type page struct {
	Items         []map[string]any `json:"items"`
	NextPageToken *string          `json:"next_page_token"`
}

// withQuery adds query parameters to path.
func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// walk pages through a list with the server's token, sending extra query
// parameters on every page, and returns the items and the number of pages.
func walk(t *testing.T, s *Server, path string, extra ...string) ([]map[string]any, int) {
	t.Helper()
	var items []map[string]any
	token := ""
	pages := 0
	for {
		var p page
		get(t, s, withQuery(path, append(append([]string{}, extra...), "page-token", token)...), &p)
		require.NotNil(t, p.Items, "items must be an array, not null")
		require.LessOrEqual(t, len(p.Items), PageSize)
		items = append(items, p.Items...)
		pages++
		if p.NextPageToken == nil {
			return items, pages
		}
		require.Len(t, p.Items, PageSize, "only the last page may be short")
		require.NotEqual(t, token, *p.NextPageToken, "same token twice")
		token = *p.NextPageToken
		require.Less(t, pages, 1000)
	}
}

func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

func projectPath(slug string) string { return "/api/v2/project/" + url.PathEscape(slug) }

package codec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// post sends body to h at path with headers (name, value pairs) and returns
// the response.
func post(t *testing.T, h http.Handler, method, path, body string, headers ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// readBody returns resp's body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// payloadsJSON returns ps as the CLI and the UI send them.
func payloadsJSON(t *testing.T, ps ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	require.NoError(t, err)
	return string(b)
}

// parsePayloads parses a codec server response.
func parsePayloads(t *testing.T, body string) []*commonpb.Payload {
	t.Helper()
	var ps commonpb.Payloads
	require.NoError(t, protojson.Unmarshal([]byte(body), &ps), "body %s", body)
	return ps.Payloads
}

func TestHandlerRoundTrip(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	h := NewHTTPHandler(c, HandlerOptions{})
	plain := plainPayload(t)

	resp := post(t, h, http.MethodPost, "/encode", payloadsJSON(t, plain, plain))
	body := readBody(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	encoded := parsePayloads(t, body)
	require.Len(t, encoded, 2)
	for _, p := range encoded {
		require.Equal(t, "binary/encrypted", string(p.Metadata["encoding"]))
		require.Equal(t, "k1", string(p.Metadata["encryption-key-id"]))
	}
	require.NotContains(t, body, "secret-repo")
	direct, err := c.Decode(encoded)
	require.NoError(t, err, "the handler encrypts as the codec does")
	require.True(t, proto.Equal(plain, direct[0]))

	resp = post(t, h, http.MethodPost, "/decode", body)
	body = readBody(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	decoded := parsePayloads(t, body)
	require.Len(t, decoded, 2)
	require.True(t, proto.Equal(plain, decoded[0]), "got %v", decoded[0])
	require.True(t, proto.Equal(plain, decoded[1]))

	// Plaintext passes through /decode.
	resp = post(t, h, http.MethodPost, "/decode", payloadsJSON(t, plain))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, proto.Equal(plain, parsePayloads(t, readBody(t, resp))[0]))
}

func TestHandlerErrors(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	h := NewHTTPHandler(c, HandlerOptions{})
	other := encodeOne(t, newCodec(t, testKey(t, "k-old")), plainPayload(t))

	resp := post(t, h, http.MethodPost, "/decode", payloadsJSON(t, other))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, readBody(t, resp), `unknown encryption key id "k-old"`)

	resp = post(t, h, http.MethodPost, "/decode", "{not json")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)

	for path, want := range map[string]int{
		"/":                    http.StatusNotFound,
		"/encodex":             http.StatusNotFound,
		"/a/b/decode":          http.StatusNotFound,
		"//decode":             http.StatusNotFound,
		"/default/decode/":     http.StatusNotFound,
		"/default/decode/x":    http.StatusNotFound,
		"/default/decode":      http.StatusOK,
		"/my.namespace/encode": http.StatusOK,
	} {
		resp := post(t, h, http.MethodPost, path, payloadsJSON(t, plainPayload(t)))
		require.Equal(t, want, resp.StatusCode, path)
	}
	resp = post(t, h, http.MethodGet, "/decode", "")
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	require.Equal(t, "POST, OPTIONS", resp.Header.Get("Allow"))
}

func TestHandlerNamespaces(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	h := NewHTTPHandler(c, HandlerOptions{Namespaces: []string{"default", "ci"}})
	body := payloadsJSON(t, encodeOne(t, c, plainPayload(t)))

	for _, tc := range []struct {
		path, header string
		want         int
	}{
		{"/default/decode", "", http.StatusOK},
		{"/ci/decode", "", http.StatusOK},
		{"/decode", "ci", http.StatusOK},
		{"/ci/decode", "other", http.StatusOK}, // the path wins
		{"/other/decode", "", http.StatusForbidden},
		{"/other/decode", "ci", http.StatusForbidden},
		{"/decode", "other", http.StatusForbidden},
		{"/decode", "", http.StatusForbidden},
	} {
		resp := post(t, h, http.MethodPost, tc.path, body, "X-Namespace", tc.header)
		got := readBody(t, resp)
		require.Equal(t, tc.want, resp.StatusCode, "%s X-Namespace %q: %s", tc.path, tc.header, got)
		if tc.want == http.StatusOK {
			require.True(t, proto.Equal(plainPayload(t), parsePayloads(t, got)[0]))
		} else {
			require.Contains(t, got, "not served")
		}
	}
}

func TestHandlerCORS(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	h := NewHTTPHandler(c, HandlerOptions{AllowedOrigins: []string{"http://localhost:8233"}, AuthToken: "tok"})

	// Preflight: no credentials needed.
	resp := post(t, h, http.MethodOptions, "/default/decode", "",
		"Origin", "http://localhost:8233", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "content-type,x-namespace")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
	require.Equal(t, "Authorization,Content-Type,X-Namespace", resp.Header.Get("Access-Control-Allow-Headers"))
	require.Equal(t, "POST,OPTIONS", resp.Header.Get("Access-Control-Allow-Methods"))
	require.Equal(t, "Origin", resp.Header.Get("Vary"))

	// The actual request carries the CORS headers too, even when refused.
	resp = post(t, h, http.MethodPost, "/decode", payloadsJSON(t, plainPayload(t)), "Origin", "http://localhost:8233")
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	require.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	resp = post(t, h, http.MethodPost, "/decode", payloadsJSON(t, plainPayload(t)), "Origin", "http://localhost:8233", "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "http://localhost:8233", resp.Header.Get("Access-Control-Allow-Origin"))

	// Other origins are refused, preflight or not.
	for _, method := range []string{http.MethodOptions, http.MethodPost} {
		resp = post(t, h, method, "/decode", payloadsJSON(t, plainPayload(t)), "Origin", "http://evil.example", "Authorization", "Bearer tok")
		require.Equal(t, http.StatusForbidden, resp.StatusCode, method)
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))
	}

	// No Origin (the CLI): no CORS headers.
	resp = post(t, h, http.MethodPost, "/decode", payloadsJSON(t, plainPayload(t)), "Authorization", "Bearer tok")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
}

func TestHandlerAuth(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	body := payloadsJSON(t, encodeOne(t, c, plainPayload(t)))

	on := NewHTTPHandler(c, HandlerOptions{AuthToken: "s3cret-token"})
	for auth, want := range map[string]int{
		"":                        http.StatusUnauthorized,
		"s3cret-token":            http.StatusUnauthorized,
		"Basic s3cret-token":      http.StatusUnauthorized,
		"Bearer wrong":            http.StatusUnauthorized,
		"Bearer s3cret-toke":      http.StatusUnauthorized,
		"Bearer s3cret-token-and": http.StatusUnauthorized,
		"Bearer ":                 http.StatusUnauthorized,
		"Bearer s3cret-token":     http.StatusOK,
		"bearer s3cret-token":     http.StatusOK,
	} {
		resp := post(t, on, http.MethodPost, "/decode", body, "Authorization", auth)
		got := readBody(t, resp)
		require.Equal(t, want, resp.StatusCode, "Authorization %q", auth)
		if want == http.StatusUnauthorized {
			require.Equal(t, "Bearer", resp.Header.Get("WWW-Authenticate"))
			require.NotContains(t, got, "secret-repo")
		} else {
			require.True(t, proto.Equal(plainPayload(t), parsePayloads(t, got)[0]))
		}
	}

	off := NewHTTPHandler(c, HandlerOptions{})
	resp := post(t, off, http.MethodPost, "/decode", body)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp = post(t, off, http.MethodPost, "/decode", body, "Authorization", "Bearer anything")
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestHandlerBodyLimit(t *testing.T) {
	c := newCodec(t, testKey(t, "k1"))
	small := NewHTTPHandler(c, HandlerOptions{MaxBodyBytes: 1024})
	fits := payloadsJSON(t, plainPayload(t))
	require.Less(t, len(fits), 1024)
	big := payloadsJSON(t, &commonpb.Payload{Data: []byte(strings.Repeat("x", 1024))})

	resp := post(t, small, http.MethodPost, "/encode", fits)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp = post(t, small, http.MethodPost, "/encode", big)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// A body of unknown length is cut at the limit too.
	req := httptest.NewRequest(http.MethodPost, "/encode", io.MultiReader(strings.NewReader(big)))
	require.EqualValues(t, -1, req.ContentLength)
	rec := httptest.NewRecorder()
	small.ServeHTTP(rec, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)

	// The default is 4 MiB.
	def := NewHTTPHandler(c, HandlerOptions{})
	huge := payloadsJSON(t, &commonpb.Payload{Data: make([]byte, 3<<20)}) // 4 MiB of base64
	require.Greater(t, len(huge), DefaultMaxBodyBytes)
	resp = post(t, def, http.MethodPost, "/encode", huge)
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	under := payloadsJSON(t, &commonpb.Payload{Data: make([]byte, 3<<20-1<<10)})
	require.Less(t, len(under), DefaultMaxBodyBytes)
	resp = post(t, def, http.MethodPost, "/encode", under)
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

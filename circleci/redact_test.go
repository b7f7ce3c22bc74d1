package circleci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leakyTimeout is a timeout error whose text and fields hold whatever it was
// given (the token, here), like net/http's own timeout error: a net.Error that
// says it is context.DeadlineExceeded.
type leakyTimeout struct{ msg string }

func (e leakyTimeout) Error() string   { return e.msg }
func (e leakyTimeout) Timeout() bool   { return true }
func (e leakyTimeout) Temporary() bool { return true }
func (e leakyTimeout) Is(target error) bool {
	return target == context.DeadlineExceeded
}

// leakyAddr is a net.Addr whose text is the token.
type leakyAddr string

func (a leakyAddr) Network() string { return "tcp" }
func (a leakyAddr) String() string  { return string(a) }

// errorChain returns err and every error reachable from it with errors.Unwrap
// and Unwrap() []error.
func errorChain(err error) []error {
	if err == nil {
		return nil
	}
	out := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, errorChain(e)...)
		}
		return out
	}
	return append(out, errorChain(errors.Unwrap(err))...)
}

// TestTransportErrorChainNeverPrintsToken makes the transport fail with errors
// that print the token (the Circle-Token header value it was sent), and checks
// that no error reachable from the returned *Error prints it, while errors.Is and
// errors.As still find what matters for retrying.
func TestTransportErrorChainNeverPrintsToken(t *testing.T) {
	type tc struct {
		name string
		// fail returns the transport error for a request carrying tok.
		fail func(ctx context.Context, tok string) error
		// check asserts what errors.Is and errors.As still see.
		check func(t *testing.T, err error)
	}
	cases := []tc{
		{
			name: "deadline exceeded, wrapped with the token in the text",
			fail: func(ctx context.Context, tok string) error {
				<-ctx.Done()
				return fmt.Errorf("proxy http://u:%s@proxy.internal: %w", tok, ctx.Err())
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
				assert.NotErrorIs(t, err, context.Canceled)
			},
		},
		{
			name: "a net.Error timeout that prints the token, and says it is DeadlineExceeded",
			fail: func(_ context.Context, tok string) error {
				return leakyTimeout{msg: "awaiting headers from token " + tok}
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, context.DeadlineExceeded, "the original's Is method still answers")
				var ne net.Error
				require.ErrorAs(t, err, &ne)
				assert.True(t, ne.Timeout())
				assert.NotContains(t, ne.Error(), testToken)
				var lt leakyTimeout
				assert.False(t, errors.As(err, &lt), "the original, which prints the token, is not reachable")
			},
		},
		{
			name: "net.OpError whose address is the token, over os.ErrDeadlineExceeded",
			fail: func(_ context.Context, tok string) error {
				return &net.OpError{Op: "read", Net: "tcp", Addr: leakyAddr(tok), Err: os.ErrDeadlineExceeded}
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
				var ne net.Error
				require.ErrorAs(t, err, &ne)
				assert.True(t, ne.Timeout())
				var oe *net.OpError
				assert.False(t, errors.As(err, &oe), "the *net.OpError prints the token: not reachable")
				e, ok := AsError(err)
				require.True(t, ok)
				assert.True(t, e.Retryable())
			},
		},
		{
			name: "joined errors, one printing the token",
			fail: func(_ context.Context, tok string) error {
				return fmt.Errorf("all attempts failed: %w",
					errors.Join(fmt.Errorf("first: token %s refused: %w", tok, syscall.ECONNREFUSED), context.Canceled))
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, context.Canceled)
				assert.ErrorIs(t, err, syscall.ECONNREFUSED)
				var errno syscall.Errno
				require.ErrorAs(t, err, &errno, "errors that do not print the token stay as they are")
				assert.Equal(t, syscall.ECONNREFUSED, errno)
			},
		},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newTestClient(t, jsonBody(200, userJSON), func(o *Options) {
				o.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
					return nil, tt.fail(r.Context(), r.Header.Get(tokenHeader))
				})}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := c.Me(ctx)
			e := requireClass(t, err, ClassTransport)
			require.NotNil(t, e.Err)
			assert.Contains(t, err.Error(), redacted, "the token was in the cause's text, and is replaced")

			chain := errorChain(err)
			require.GreaterOrEqual(t, len(chain), 2)
			for i, u := range chain {
				for _, s := range []string{u.Error(), fmt.Sprintf("%v", u), fmt.Sprintf("%+v", u),
					fmt.Sprintf("%#v", u), fmt.Sprintf("%q", u), fmt.Sprintf("%d", u)} {
					assert.NotContains(t, s, testToken, "error %d (%T) of the chain", i, u)
				}
			}
			var target error
			require.ErrorAs(t, err, &target)
			assert.NotContains(t, target.Error(), testToken)
			tt.check(t, err)
		})
	}
}

// TestRedactErrKeepsCleanChains checks that an error chain that never prints the
// token is kept as it is, and that the redacted copy keeps the shape of the chain.
func TestRedactErrKeepsCleanChains(t *testing.T) {
	c, err := New(Options{Token: testToken, Limiter: unlimited()})
	require.NoError(t, err)
	for _, clean := range []error{
		io.ErrUnexpectedEOF,
		fmt.Errorf("reading: %w", io.ErrUnexpectedEOF),
		errors.Join(context.Canceled, errors.New("x")),
		leakyTimeout{msg: "no secret here"},
	} {
		assert.Equal(t, clean, c.redactErr(clean), "%v", clean)
	}
	assert.NoError(t, c.redactErr(nil))

	// Leaking at the bottom: every error above it is replaced, with the same texts.
	inner := errors.New("token " + testToken)
	orig := fmt.Errorf("outer: %w", fmt.Errorf("middle: %w", inner))
	got := c.redactErr(orig)
	want := []string{"outer: middle: token " + redacted, "middle: token " + redacted, "token " + redacted}
	var texts []string
	for _, u := range errorChain(got) {
		texts = append(texts, u.Error())
	}
	assert.Equal(t, want, texts)
	assert.ErrorIs(t, got, inner, "errors.Is still recognises the original, which is not returned")

	// A chain too deep (or a cycle) is cut: nothing past the limit is reachable.
	var deep error = errors.New("bottom " + testToken)
	for range 3 * maxRedactDepth {
		deep = fmt.Errorf("w: %w", deep)
	}
	chain := errorChain(c.redactErr(deep))
	assert.Len(t, chain, maxRedactDepth+1)
	for _, u := range chain {
		assert.NotContains(t, u.Error(), testToken)
	}
}

// TestRedirectDropsTokenOnOtherScheme follows redirects on one host name that
// switch scheme: the token only goes where the first request went.
func TestRedirectDropsTokenOnOtherScheme(t *testing.T) {
	tests := []struct {
		name, base, to string
		keep           bool
	}{
		{name: "https to http on the same host", base: "https://circleci.example", to: "http://circleci.example/api/v2/landing"},
		{name: "http to https on the same host", base: "http://circleci.example", to: "https://circleci.example/api/v2/landing"},
		{name: "another port", base: "https://circleci.example", to: "https://circleci.example:8443/api/v2/landing"},
		{name: "another host", base: "https://circleci.example", to: "https://elsewhere.example/api/v2/landing"},
		{name: "same scheme and host", base: "https://circleci.example", to: "https://CIRCLECI.example/api/v2/landing", keep: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			sent := map[string]string{} // URL → Circle-Token received
			hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				sent[r.URL.String()] = r.Header.Get(tokenHeader)
				mu.Unlock()
				resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(userJSON)), Request: r}
				if r.URL.Path == "/api/v2/me" {
					resp.StatusCode = http.StatusFound
					resp.Header = http.Header{"Location": {tt.to}}
					resp.Body = http.NoBody
				}
				return resp, nil
			})}
			c, err := New(Options{BaseURL: tt.base, Token: testToken, HTTPClient: hc, Limiter: unlimited()})
			require.NoError(t, err)
			_, err = c.Me(context.Background())
			require.NoError(t, err)
			assert.Equal(t, testToken, sent[tt.base+"/api/v2/me"], "the first request has the token")
			require.Contains(t, sent, tt.to)
			if tt.keep {
				assert.Equal(t, testToken, sent[tt.to])
			} else {
				assert.Empty(t, sent[tt.to], "the token must not follow the redirect")
			}
		})
	}
}

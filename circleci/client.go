package circleci

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
)

// DefaultBaseURL is CircleCI cloud. A CircleCI Server installation uses its own host.
const DefaultBaseURL = "https://circleci.com"

// DefaultMaxBodyBytes is the default limit on the size of a response body (8 MiB).
const DefaultMaxBodyBytes int64 = 8 << 20

// maxErrorBodyBytes caps how much of a non-2xx body is read: only a message is kept.
const maxErrorBodyBytes int64 = 64 << 10

// tokenHeader is the header the API token is sent in.
const tokenHeader = "Circle-Token"

// redacted replaces secrets in printed values and messages.
const redacted = "[REDACTED]"

// modulePath is this module's import path, used to find its version in build info.
const modulePath = "github.com/circleci-sync/circleci-sync"

// Version is the version in the default User-Agent (set with -ldflags -X; default the
// module's build version, or "dev").
var Version = ""

// Options configures a Client. Only Token is required. Options redacts Token when
// printed, logged or marshalled, but do not copy the token elsewhere.
type Options struct {
	// BaseURL is the scheme and host of CircleCI cloud (the default) or a CircleCI
	// Server host, optionally with a path prefix; "/api/v2" and "/api/v1.1" are appended.
	BaseURL string

	// Token is a personal API token (Circle-Token header), trimmed. Required.
	Token string

	// HTTPClient sends the requests (default NewDefaultHTTPClient). It is copied, and
	// its CheckRedirect wrapped so that the token never follows a redirect elsewhere.
	HTTPClient *http.Client

	// UserAgent defaults to "circleci-sync/<version> (+https://github.com/circleci-sync/circleci-sync)".
	UserAgent string

	// MaxBodyBytes caps a response body (default DefaultMaxBodyBytes): larger is ClassDecode.
	MaxBodyBytes int64

	// Limiter paces the requests (default SharedLimiter(BaseURL, Token, …): one budget
	// per base URL and token in the process).
	Limiter *Limiter

	// Observer is told about every HTTP request (see Observer). Nil means none.
	Observer Observer
}

// String describes the options with the token redacted.
func (o Options) String() string {
	return fmt.Sprintf("circleci.Options{BaseURL: %q, Token: %s, UserAgent: %q, MaxBodyBytes: %d, HTTPClient: %t, Limiter: %t, Observer: %t}",
		o.BaseURL, o.redactedToken(), o.UserAgent, o.MaxBodyBytes, o.HTTPClient != nil, o.Limiter != nil, o.Observer != nil)
}

// GoString is String: the %#v form also redacts the token.
func (o Options) GoString() string { return o.String() }

// Format prints String for every verb, so that no verb can print the token.
func (o Options) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, o.String()) }

// LogValue logs the options with the token redacted.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", o.BaseURL),
		slog.String("token", o.redactedToken()),
		slog.String("user_agent", o.UserAgent),
		slog.Int64("max_body_bytes", o.MaxBodyBytes),
	)
}

// MarshalJSON encodes the options with the token redacted.
func (o Options) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"base_url":%q,"token":%q,"user_agent":%q,"max_body_bytes":%d}`,
		o.BaseURL, o.redactedToken(), o.UserAgent, o.MaxBodyBytes), nil
}

func (o Options) redactedToken() string {
	if o.Token == "" {
		return `""`
	}
	return redacted
}

// credential holds the token behind a pointer: a Client printed by reflection shows an address.
type credential struct{ token string }

// Client calls the CircleCI API, safe for concurrent use. Each operation sends one
// request and never retries (see Error.Retryable); the Limiter paces them.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	cred      *credential
	http      *http.Client
	userAgent string
	maxBody   int64
	limiter   *Limiter
	observer  Observer
}

// New returns a Client for opts; its errors (missing token, bad BaseURL) never hold the token.
func New(opts Options) (*Client, error) {
	token := strings.TrimSpace(opts.Token)
	if token == "" {
		return nil, errors.New("circleci: an API token is required")
	}
	if !validHeaderValue(token) {
		return nil, errors.New("circleci: the API token contains characters not allowed in an HTTP header")
	}
	base, err := normalizeBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		cred:      &credential{token: token},
		userAgent: opts.UserAgent,
		maxBody:   opts.MaxBodyBytes,
		limiter:   opts.Limiter,
		observer:  opts.Observer,
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent()
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}
	if c.limiter == nil {
		c.limiter = SharedLimiter(base, token, LimiterOptions{})
	}
	if c.observer == nil {
		c.observer = nopObserver{}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = NewDefaultHTTPClient()
	}
	cp := *hc
	cp.CheckRedirect = keepTokenOnHost(hc.CheckRedirect)
	c.http = &cp
	return c, nil
}

// DefaultUserAgent is the User-Agent sent when Options.UserAgent is empty.
func DefaultUserAgent() string {
	return "circleci-sync/" + version() + " (+https://github.com/circleci-sync/circleci-sync)"
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == modulePath &&
		bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// BaseURL returns the normalized base URL, without "/api/v2".
func (c *Client) BaseURL() string { return c.base }

// Limiter returns the limiter pacing this client's requests.
func (c *Client) Limiter() *Limiter { return c.limiter }

// String describes the client without its token.
func (c *Client) String() string {
	if c == nil {
		return "circleci.Client(nil)"
	}
	return fmt.Sprintf("circleci.Client{BaseURL: %q, Token: %s}", c.base, redacted)
}

// GoString is String: the %#v form never prints the token.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue logs the client without its token.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("circleci.Client(nil)")
	}
	return slog.GroupValue(slog.String("base_url", c.base), slog.String("token", redacted))
}

// normalizeBaseURL returns raw as scheme://host[/prefix]; errors omit its userinfo and query.
func normalizeBaseURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("circleci: BaseURL is not a valid URL")
	}
	safe := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("circleci: BaseURL %q must be an absolute http or https URL", safe)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("circleci: BaseURL %q has no host", safe)
	case u.User != nil:
		return "", fmt.Errorf("circleci: BaseURL %q must not contain user info", safe)
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("circleci: BaseURL %q must not contain a query", safe)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("circleci: BaseURL %q must not contain a fragment", safe)
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	for _, suffix := range []string{"/api/v2", "/api/v1.1"} {
		if strings.HasSuffix(p, suffix) {
			p = strings.TrimRight(strings.TrimSuffix(p, suffix), "/")
			break
		}
	}
	return u.Scheme + "://" + u.Host + p, nil
}

// validHeaderValue reports whether s can be sent as an HTTP header value.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// NewDefaultHTTPClient returns the default Options.HTTPClient: dial, TLS and
// response-header timeouts but no overall one (deadlines come from each call's context).
func NewDefaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 60 * time.Second
	t.ExpectContinueTimeout = time.Second
	t.IdleConnTimeout = 90 * time.Second
	t.MaxIdleConnsPerHost = DefaultMaxConcurrent
	return &http.Client{Transport: t}
}

// keepTokenOnHost wraps a CheckRedirect policy to drop the token header, which net/http
// does not know is sensitive, on a redirect to another host or scheme.
func keepTokenOnHost(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !sameOrigin(req.URL, via[0].URL) {
			req.Header.Del(tokenHeader)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// sameOrigin reports whether a and b have the same scheme and host (port included).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

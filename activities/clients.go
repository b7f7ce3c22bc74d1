package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// ClientOptions configures the clients a ClientCache builds. Zero values mean the
// circleci package's defaults.
type ClientOptions struct {
	// Limiter configures the per-token limiter (see circleci.SharedLimiter). It
	// applies when the process first uses a base URL and token.
	Limiter circleci.LimiterOptions
	// HTTPClient sends the requests; nil means the circleci default.
	HTTPClient *http.Client
	// Observer is told about every request (metrics); nil means none.
	Observer circleci.Observer
	// UserAgent is sent in the User-Agent header; "" means the circleci default.
	UserAgent string
}

// ClientCache builds CircleCI clients and keeps one per base URL and token. The
// token is never kept as a key: the cache is keyed by a SHA-256 of it. Its zero
// value is ready to use, with default options. It is safe for concurrent use.
//
// Entries are never evicted: the cache holds one small entry (a client, and the
// process-wide limiter of circleci.SharedLimiter, which outlives it anyway) per
// base URL and token for the process lifetime, so rotated tokens cost next to
// nothing. The clients share one http.Transport
// (unless ClientOptions.HTTPClient is given, which they then share): the idle
// connections to a host are pooled once, not kept per token.
type ClientCache struct {
	opts ClientOptions

	mu      sync.Mutex
	clients map[string]*circleci.Client
	// http is the HTTP client the cached clients share, built on first use.
	http *http.Client
	// users shares fetches of a user between activity runs.
	users userFetches
}

// userFlights shares fetches of a user between the cache's clients (the
// default cache's for a nil c).
func (c *ClientCache) userFlights() *userFetches {
	if c == nil {
		c = defaultClients
	}
	return &c.users
}

// NewClientCache returns an empty cache building clients with opts.
func NewClientCache(opts ClientOptions) *ClientCache {
	return &ClientCache{opts: opts}
}

// defaultClients serves Activities values without a ClientCache.
var defaultClients = &ClientCache{}

// Client returns the client for conn's base URL and token, building it on first
// use. Every client of a base URL and token shares the process-wide limiter of
// circleci.SharedLimiter. A malformed base URL or token is a non-retryable
// ErrInvalidInput. creds is used to read the token; nil means EnvCredentials{}.
func (c *ClientCache) Client(ctx context.Context, conn Connection, creds Credentials) (*circleci.Client, error) {
	if creds == nil {
		creds = EnvCredentials{}
	}
	token, err := creds.Token(ctx, conn)
	if err != nil {
		return nil, err
	}
	return c.client(conn.BaseURL, token)
}

// client returns the cached client of baseURL and token.
func (c *ClientCache) client(baseURL, token string) (*circleci.Client, error) {
	if c == nil {
		c = defaultClients
	}
	baseURL = strings.TrimSpace(baseURL)
	if baseURL == "" {
		baseURL = circleci.DefaultBaseURL
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	key := strings.ToLower(strings.TrimRight(baseURL, "/")) + " " + hex.EncodeToString(sum[:])

	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[key]; ok {
		return cl, nil
	}
	hc := c.opts.HTTPClient
	if hc == nil {
		if c.http == nil {
			c.http = circleci.NewDefaultHTTPClient()
		}
		hc = c.http
	}
	cl, err := circleci.New(circleci.Options{
		BaseURL:    baseURL,
		Token:      token,
		HTTPClient: hc,
		UserAgent:  c.opts.UserAgent,
		Limiter:    circleci.SharedLimiter(baseURL, token, c.opts.Limiter),
		Observer:   c.opts.Observer,
	})
	if err != nil {
		// circleci.New's errors never contain the token.
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("cannot build a CircleCI client for base URL %q: %v", safeURL(baseURL), err), ErrInvalidInput, nil)
	}
	if c.clients == nil {
		c.clients = map[string]*circleci.Client{}
	}
	c.clients[key] = cl
	return cl, nil
}

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
	// Limiter configures a token's limiter when the process first uses it.
	Limiter circleci.LimiterOptions
	// HTTPClient sends the requests; nil means the circleci default.
	HTTPClient *http.Client
	// Observer is told about every request (metrics); nil means none.
	Observer circleci.Observer
	// UserAgent is sent in the User-Agent header; "" means the circleci default.
	UserAgent string
}

// ClientCache keeps one CircleCI client per base URL and token (keyed by the
// token's SHA-256), sharing one HTTP client. Its zero value is ready; it is
// safe for concurrent use. Entries are small and never evicted.
type ClientCache struct {
	opts ClientOptions

	mu      sync.Mutex
	clients map[string]*circleci.Client
	http    *http.Client
	users   userFetches
}

// userFlights shares fetches of a user between the cache's clients.
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

// Client returns the client of conn's base URL and token (read with creds;
// nil: EnvCredentials{}), building it on first use.
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

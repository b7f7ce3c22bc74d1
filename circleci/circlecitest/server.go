package circlecitest

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake CircleCI API and an http.Handler: the API under URL+"/api/v2/" and
// "/api/v1.1/", the control API under "/_fake/". Safe for concurrent use.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:port" with no trailing slash,
	// for a server started by NewServer; "" for one made by NewHandler.
	URL string

	opts   Options
	mu     sync.RWMutex // guards w and sets
	w      *world
	sets   faultSets
	faults *faultState
	pager  *pager
	stats  *statsCollector
	hooks  *hookState

	listener net.Listener
	srv      *http.Server
	client   *http.Client
}

// NewHandler returns a Server that is not listening: serve it yourself (the
// fakecircleci command does) or call its ServeHTTP. Its URL is "".
func NewHandler(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:   opts,
		w:      newWorld(opts),
		faults: newFaultState(opts.Seed, opts.Faults),
		pager:  newPager(opts.Seed),
		stats:  newStatsCollector(),
		hooks:  newHookState(opts),
		client: &http.Client{Timeout: 30 * time.Second},
	}
	s.sets = s.w.faultSets(s.faults.get())
	return s
}

// NewServer returns a Server listening on a random loopback port, like
// httptest.NewServer; it panics if it cannot listen.
func NewServer(opts Options) *Server {
	s := NewHandler(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("circlecitest: failed to listen on a port: " + err.Error())
	}
	s.listener = l
	s.URL = "http://" + l.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }() // returns http.ErrServerClosed on Close
	return s
}

// Close stops webhook deliveries and a server started by NewServer, closing its
// connections.
func (s *Server) Close() {
	s.hooks.out.close()
	if s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	s.client.CloseIdleConnections()
}

// Client returns an *http.Client for talking to the server. It adds no
// authentication.
func (s *Server) Client() *http.Client { return s.client }

// Options returns the options in force, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Token returns the valid full-access token.
func (s *Server) Token() string { return s.opts.Token }

// Now returns the dataset clock.
func (s *Server) Now() time.Time {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.w.now
}

// SetFaults replaces the faults in force and returns them normalized.
func (s *Server) SetFaults(f Faults) Faults {
	f = s.faults.set(f)
	s.mu.Lock()
	s.sets = s.w.faultSets(f)
	s.mu.Unlock()
	return f
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return s.faults.get() }

// ServeHTTP answers the CircleCI API under /api/v2/ and /api/v1.1/, and the
// control API under /_fake/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		s.serveControl(w, r)
		return
	}
	s.serveAPI(w, r)
}

// serveAPI runs one CircleCI API request through stats, faults and its route.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt, a := matchRoute(r)
	token := tokenOf(r)
	s.stats.begin(token)
	key := r.Method + " " + rt.template
	rec := &recorder{ResponseWriter: w}
	defer func() { s.stats.end(key, rec.status, rec.Header().Get("Retry-After") != "") }()

	d := s.faults.decide()
	if d.latency > 0 {
		t := time.NewTimer(d.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if d.rate != nil {
		for k, v := range d.rate.headers() {
			rec.Header().Set(k, v)
		}
	}
	switch d.status {
	case http.StatusTooManyRequests:
		retry := 1
		if !d.random && d.rate != nil {
			retry = max(1, d.rate.retryAfter)
		}
		s.stats.rateLimited(token, time.Duration(retry)*time.Second)
		writeRateLimited(rec, retry)
		return
	case http.StatusInternalServerError:
		writeError(rec, http.StatusInternalServerError, msgInternal)
		return
	}
	if rt.handle == nil {
		writeError(rec, http.StatusNotFound, msgNotFound)
		return
	}
	if !rt.allows(r.Method) {
		rec.Header().Set("Allow", strings.Join(append([]string{"GET", "HEAD"}, rt.methods...), ", "))
		writeError(rec, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if !s.faults.corrupts(key) {
		rt.handle(s, rec, r, a)
		return
	}
	held := newAnswer()
	rt.handle(s, held, r, a)
	c, ok := s.faults.drawCorruption(key, r, held)
	if !ok {
		held.send(rec)
		return
	}
	s.stats.corrupted(c.Kind)
	held.sendCorrupted(rec, r, c)
}

// writeRateLimited answers 429 the way CircleCI does: plain text.
func writeRateLimited(w http.ResponseWriter, retryAfter int) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, retryAfter)))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Rate limited."))
}

// recorder remembers the status written through it.
type recorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status and passes it on.
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes the bytes on.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes a flush on, so that a truncated answer reaches the client.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

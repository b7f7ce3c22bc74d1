package receiver

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// Limits of a delivery, and the route the handler serves.
const (
	MaxBodyBytes          = 1 << 20
	DefaultBodyTimeout    = 2 * time.Second
	DefaultHandoffTimeout = 900 * time.Millisecond
	RoutePrefix           = "/circleci/"
)

// Options configure a Handler; zero fields take the defaults above.
type Options struct {
	Secrets        Secrets
	Handoff        Handoff
	Metrics        *Metrics
	Logger         *slog.Logger
	BodyTimeout    time.Duration
	HandoffTimeout time.Duration
	// MaxInFlight bounds each connection's hand-offs in flight (default
	// DefaultMaxInFlight); the replicas' sum should stay within Temporal's
	// 10 in-flight Updates per workflow.
	MaxInFlight int
}

// Handler serves POST /circleci/<connection_id>.
type Handler struct {
	opts  Options
	conns atomic.Pointer[Connections]
	gate  gate
}

// NewHandler returns a Handler for conns.
func NewHandler(conns Connections, opts Options) *Handler {
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = DefaultBodyTimeout
	}
	if opts.HandoffTimeout <= 0 {
		opts.HandoffTimeout = DefaultHandoffTimeout
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: opts, gate: gate{max: opts.MaxInFlight}}
	h.SetConnections(conns)
	return h
}

// SetConnections replaces the known connections (a reloaded file).
func (h *Handler) SetConnections(conns Connections) { h.conns.Store(&conns) }

// outcome is a request's answer, and what metrics and logs say of it.
type outcome struct {
	code   int
	result string
	typ    string
	ev     *webhooks.Event
}

// ServeHTTP checks, in order: path, method, connection, size, signature,
// event, type, org; then hands the event off.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, RoutePrefix)
	if !ok || !ValidConnectionID(id) {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	out := h.serve(w, r, id)
	h.opts.Metrics.events.WithLabelValues(out.typ, out.result).Inc()
	h.log(out, r)
	if out.code == http.StatusNoContent {
		w.WriteHeader(out.code)
		return
	}
	http.Error(w, http.StatusText(out.code), out.code)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, id string) outcome {
	typ := typeLabel(r.Header.Get(webhooks.EventTypeHeader))
	in, known := (*h.conns.Load())[id]
	if !known {
		return outcome{http.StatusNotFound, ResultUnknownConnection, typ, nil}
	}
	secrets, err := h.opts.Secrets.For(id)
	if err != nil {
		h.opts.Logger.Error("webhook secrets unreadable", "err", err)
		return outcome{http.StatusInternalServerError, ResultError, typ, nil}
	}
	if len(secrets) == 0 {
		return outcome{http.StatusNotFound, ResultUnknownConnection, typ, nil}
	}
	body, out := h.readBody(w, r, typ)
	if out.code != 0 {
		return out
	}
	if webhooks.VerifyAny(secrets, r.Header.Get(webhooks.SignatureHeader), body) != nil {
		return outcome{http.StatusUnauthorized, ResultBadSignature, typ, nil}
	}
	ev, err := webhooks.Parse(body, r.Header.Get(webhooks.EventTypeHeader))
	if err != nil {
		return outcome{http.StatusBadRequest, ResultInvalid, typ, nil}
	}
	typ = typeLabel(ev.Type)
	if !ev.Known() {
		return outcome{http.StatusNoContent, ResultIgnored, typ, &ev}
	}
	if !inScope(in, ev.Project.Slug) {
		return outcome{http.StatusForbidden, ResultOtherOrg, typ, &ev}
	}
	return h.handoff(r.Context(), in, ev, typ)
}

// readBody reads at most MaxBodyBytes within BodyTimeout; a non-zero outcome
// refuses the request.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, typ string) ([]byte, outcome) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(h.opts.BodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, outcome{http.StatusRequestEntityTooLarge, ResultTooLarge, typ, nil}
	case err != nil:
		return nil, outcome{http.StatusRequestTimeout, ResultSlowBody, typ, nil}
	}
	return body, outcome{}
}

func (h *Handler) handoff(ctx context.Context, in workflows.ConnectionSyncInput, ev webhooks.Event, typ string) outcome {
	ctx, cancel := context.WithTimeout(ctx, h.opts.HandoffTimeout)
	defer cancel()
	req := workflows.TargetRequest{
		EventID: ev.ID, Type: ev.Type, ProjectSlug: webhooks.ShortSlug(ev.Project.Slug),
		PipelineID: ev.Pipeline.ID, WorkflowID: ev.Workflow.ID,
	}
	start := time.Now()
	release, err := h.gate.acquire(ctx, in.ConnectionID)
	var res workflows.TargetResult
	if err == nil {
		res, err = h.opts.Handoff.Handoff(ctx, in, req)
		release()
	}
	h.opts.Metrics.handoff.Observe(time.Since(start).Seconds())
	if err != nil {
		h.opts.Logger.Warn("webhook hand-off failed", "event_id", ev.ID, "connection", in.ConnectionID, "err", err)
		return outcome{http.StatusServiceUnavailable, ResultUnavailable, typ, &ev}
	}
	if res.Status == workflows.TargetDuplicate {
		return outcome{http.StatusAccepted, ResultDuplicate, typ, &ev}
	}
	return outcome{http.StatusAccepted, ResultAccepted, typ, &ev}
}

// inScope reports whether slug is in the connection's org, and among its
// projects when it lists them.
func inScope(in workflows.ConnectionSyncInput, slug string) bool {
	if !webhooks.InOrg(in.OrgSlug, slug) {
		return false
	}
	if len(in.Projects) == 0 {
		return true
	}
	c := webhooks.CanonicalSlug(slug)
	for _, p := range in.Projects {
		if webhooks.CanonicalSlug(p) == c {
			return true
		}
	}
	return false
}

// typeLabel bounds the type label to the known types: senders choose it.
func typeLabel(t string) string {
	if t == webhooks.WorkflowCompleted || t == webhooks.JobCompleted {
		return t
	}
	return "other"
}

// log writes one line per delivery: for an unverified one, its type label and
// size only; for a verified one, also the event id and the connection.
func (h *Handler) log(out outcome, r *http.Request) {
	attrs := []any{"code", out.code, "result", out.result, "type", out.typ, "bytes", r.ContentLength}
	level := slog.LevelInfo
	if out.ev != nil {
		attrs = append(attrs, "event_id", out.ev.ID, "project", webhooks.ShortSlug(out.ev.Project.Slug))
		if out.code < 300 {
			level = slog.LevelDebug
		}
	}
	h.opts.Logger.Log(r.Context(), level, "webhook", attrs...)
}

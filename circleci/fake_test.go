package circleci_test

// Integration tests of the real client against the fake CircleCI API
// (circlecitest), over real HTTP. The fake is written from the spec and the
// research notes, not from the client, so an agreement here is an agreement
// between two independent readings of CircleCI.
//
// This file holds the shared helpers, the complete crawl compared with
// Expected, org and branch paging, Advance and the metrics hook. The faults
// and quirks are in fake_quirks_test.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// Distinctive tokens, one per role, so that a leak into an error text is easy
// to spot: assertNoToken looks for every one of them in every error.
const (
	fullToken    = "CCIPAT_fullS3CRET_7d1e0c9a41"
	limitedToken = "CCIPAT_limitedS3CRET_52ab93"
	badToken     = "CCIPAT_badS3CRET_e41f07c2"
	sharedToken  = "CCIPAT_sharedS3CRET_0b8d66" // the SharedLimiter test's own token
)

var secretTokens = []string{fullToken, limitedToken, badToken, sharedToken}

// discoveryRequests is what a crawl sends on top of Expected.MinimumRequests,
// which does not count discovery calls: GET /me, GET /me/collaborations and
// v1.1 GET /projects, one each.
const discoveryRequests = 3

// startFake starts a fake CircleCI on a loopback port (full token fullToken
// unless opts says otherwise) and closes it when the test ends.
func startFake(t *testing.T, opts circlecitest.Options) *circlecitest.Server {
	t.Helper()
	if opts.Token == "" {
		opts.Token = fullToken
	}
	s := circlecitest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// fastLimiter is a limiter of the test's own that never makes it wait (no
// rate, 16 in flight), so that no test shares SharedLimiter state.
func fastLimiter() *circleci.Limiter {
	return circleci.NewLimiter(circleci.LimiterOptions{RequestsPerSecond: math.Inf(1), Burst: 1, MaxConcurrent: 16})
}

// newClient returns a client of s for token, with a fastLimiter unless a
// modifier sets another.
func newClient(t *testing.T, s *circlecitest.Server, token string, mods ...func(*circleci.Options)) *circleci.Client {
	t.Helper()
	opts := circleci.Options{BaseURL: s.URL, Token: token, Limiter: fastLimiter()}
	for _, m := range mods {
		m(&opts)
	}
	c, err := circleci.New(opts)
	require.NoError(t, err)
	return c
}

func withLimiter(l *circleci.Limiter) func(*circleci.Options) {
	return func(o *circleci.Options) { o.Limiter = l }
}

func withObserver(obs circleci.Observer) func(*circleci.Options) {
	return func(o *circleci.Options) { o.Observer = obs }
}

func withWireLog(l *wireLog) func(*circleci.Options) {
	return func(o *circleci.Options) { o.HTTPClient = &http.Client{Transport: l} }
}

// testContext is the test's context with a generous deadline, so that a hang
// fails the test instead of the whole run.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// sentRequest is one request as the client put it on the wire.
type sentRequest struct {
	path  string // escaped path, as in the request line
	query url.Values
}

// wireLog is an http.RoundTripper that records every request the client
// sends (the request line is written from exactly these fields) and passes it
// on to a transport of its own.
type wireLog struct {
	next *http.Transport
	mu   sync.Mutex
	reqs []sentRequest
}

func newWireLog(t *testing.T) *wireLog {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &wireLog{next: tr}
}

func (l *wireLog) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	l.reqs = append(l.reqs, sentRequest{path: r.URL.EscapedPath(), query: r.URL.Query()})
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

// to returns the recorded requests whose escaped path satisfies keep.
func (l *wireLog) to(keep func(path string) bool) []sentRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sentRequest
	for _, r := range l.reqs {
		if keep(r.path) {
			out = append(out, r)
		}
	}
	return out
}

// assertNoToken checks that no token appears in any printed form of err.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	forms := []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%q", err)}
	if e, ok := circleci.AsError(err); ok && e.Err != nil {
		forms = append(forms, e.Err.Error())
	}
	for _, form := range forms {
		for _, tok := range secretTokens {
			assert.NotContains(t, form, tok, "an error leaks a token")
		}
	}
}

// asAPIError requires err to be a *circleci.Error, token-free, and returns it.
func asAPIError(t *testing.T, err error) *circleci.Error {
	t.Helper()
	require.Error(t, err)
	assertNoToken(t, err)
	e, ok := circleci.AsError(err)
	require.True(t, ok, "%T is not a *circleci.Error: %v", err, err)
	return e
}

// apiError requires err to be a token-free *circleci.Error of class want.
func apiError(t *testing.T, err error, want circleci.Class) *circleci.Error {
	t.Helper()
	e := asAPIError(t, err)
	require.Equal(t, want, e.Class, "error: %v", err)
	return e
}

// ---------------------------------------------------------------------------
// A complete crawl, the way a sync discovers and reads everything.

// crawler crawls everything a token sees. With retry off it uses the client's
// own iterators (ProjectPipelines, PipelineWorkflows, WorkflowJobs) as they
// are; with retry on, the generic circleci.Items over the *Page operations,
// each call retried by a simple loop while the error is Retryable.
type crawler struct {
	t       *testing.T
	ctx     context.Context
	c       *circleci.Client
	retry   bool
	retried []*circleci.Error // the errors the retry loop got past
}

const maxAttempts = 30

// call runs f, again and again while it fails with a retryable error and the
// crawler retries.
func call[T any](cr *crawler, f func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := f()
		if err == nil {
			return v, nil
		}
		e := asAPIError(cr.t, err)
		if !cr.retry || !e.Retryable() || attempt == maxAttempts {
			return v, err
		}
		cr.retried = append(cr.retried, e)
	}
}

// list returns it, the client's iterator, or with retry on the same list
// through circleci.Items with every page fetch retried.
func list[T any](cr *crawler, it iter.Seq2[T, error], page circleci.PageFetcher[T]) iter.Seq2[T, error] {
	if !cr.retry {
		return it
	}
	return circleci.Items(cr.ctx, func(ctx context.Context, tok string) (circleci.Page[T], error) {
		return call(cr, func() (circleci.Page[T], error) { return page(ctx, tok) })
	})
}

// crawlResult is what a crawl read.
type crawlResult struct {
	me        circleci.User
	collabs   []circleci.Collaboration
	followed  []circleci.FollowedProject
	projects  []circleci.Project
	pipelines []circleci.Pipeline
	workflows []circleci.Workflow
	jobs      []circleci.Job
	users     []circleci.User
	// unreachable maps the id of a pipeline whose workflows could not be
	// listed, or of a user that could not be read, to the error.
	unreachable map[string]*circleci.Error
}

// crawl reads /me, the collaborations, the followed projects, then every
// project (by the slug FollowedProject.Slug builds), its pipelines, their
// workflows, their jobs and every user they reference, once each.
func (cr *crawler) crawl() crawlResult {
	t, ctx, c := cr.t, cr.ctx, cr.c
	t.Helper()
	r := crawlResult{unreachable: map[string]*circleci.Error{}}
	var err error
	r.me, err = call(cr, func() (circleci.User, error) { return c.Me(ctx) })
	require.NoError(t, err)
	r.collabs, err = call(cr, func() ([]circleci.Collaboration, error) { return c.Collaborations(ctx) })
	require.NoError(t, err)
	r.followed, err = call(cr, func() ([]circleci.FollowedProject, error) { return c.FollowedProjects(ctx) })
	require.NoError(t, err)

	for _, f := range r.followed {
		slug := f.Slug()
		require.NotEmpty(t, slug, "no slug for followed project %q", f.VCSURL)
		p, err := call(cr, func() (circleci.Project, error) { return c.Project(ctx, slug) })
		require.NoError(t, err, "project %s", slug)
		r.projects = append(r.projects, p)
		// The slug CircleCI reports wins over the one built from v1.1.
		pls := list(cr, c.ProjectPipelines(ctx, p.Slug, ""), func(ctx context.Context, tok string) (circleci.Page[circleci.Pipeline], error) {
			return c.ProjectPipelinesPage(ctx, p.Slug, "", tok)
		})
		for pl, err := range pls {
			require.NoError(t, err, "pipelines of %s", p.Slug)
			r.pipelines = append(r.pipelines, pl)
		}
	}

	seenUser := map[string]bool{}
	var userIDs []string
	ref := func(ids ...*string) {
		for _, id := range ids {
			if id != nil && *id != "" && !seenUser[*id] {
				seenUser[*id] = true
				userIDs = append(userIDs, *id)
			}
		}
	}
	for _, pl := range r.pipelines {
		var wfs []circleci.Workflow
		var failed error
		it := list(cr, c.PipelineWorkflows(ctx, pl.ID), func(ctx context.Context, tok string) (circleci.Page[circleci.Workflow], error) {
			return c.PipelineWorkflowsPage(ctx, pl.ID, tok)
		})
		for wf, err := range it {
			if err != nil {
				failed = err
				break
			}
			wfs = append(wfs, wf)
		}
		if failed != nil {
			r.unreachable[pl.ID] = asAPIError(t, failed)
			continue
		}
		for _, wf := range wfs {
			r.workflows = append(r.workflows, wf)
			ref(wf.StartedBy, wf.CanceledBy, wf.ErroredBy)
			jobs := list(cr, c.WorkflowJobs(ctx, wf.ID), func(ctx context.Context, tok string) (circleci.Page[circleci.Job], error) {
				return c.WorkflowJobsPage(ctx, wf.ID, tok)
			})
			for j, err := range jobs {
				require.NoError(t, err, "jobs of workflow %s", wf.ID)
				r.jobs = append(r.jobs, j)
				ref(j.ApprovedBy, j.CanceledBy)
			}
		}
	}
	for _, id := range userIDs {
		u, err := call(cr, func() (circleci.User, error) { return c.User(ctx, id) })
		if err != nil {
			r.unreachable[id] = asAPIError(t, err)
			continue
		}
		r.users = append(r.users, u)
	}
	return r
}

// crawlWith crawls everything c's token sees, without retries.
func crawlWith(t *testing.T, c *circleci.Client) crawlResult {
	t.Helper()
	cr := &crawler{t: t, ctx: testContext(t), c: c}
	return cr.crawl()
}

// ---------------------------------------------------------------------------
// Comparing a crawl with circlecitest.Expected.

// diffs collects the fields of one entity that differ from what the fake holds.
type diffs []string

func (d *diffs) eq(field string, got, want any) {
	if !reflect.DeepEqual(got, want) {
		*d = append(*d, fmt.Sprintf("%s: got %v, want %v", field, show(got), show(want)))
	}
}

// opt compares an optional string, "" in the fake standing for absent (nil).
func (d *diffs) opt(field string, got *string, want string) {
	switch {
	case got == nil && want == "":
	case got != nil && *got == want && want != "":
	default:
		*d = append(*d, fmt.Sprintf("%s: got %s, want %q", field, show(got), want))
	}
}

// optInt compares an optional number, 0 in the fake standing for absent (nil).
func (d *diffs) optInt(field string, got *int64, want int64) {
	switch {
	case got == nil && want == 0:
	case got != nil && *got == want && want != 0:
	default:
		*d = append(*d, fmt.Sprintf("%s: got %s, want %d", field, show(got), want))
	}
}

func (d *diffs) time(field string, got, want time.Time) {
	if !got.Equal(want) {
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s", field, got, want))
	}
}

// timePtr compares a nullable time: nil must stay nil (null on the wire).
func (d *diffs) timePtr(field string, got, want *time.Time) {
	switch {
	case got == nil && want == nil:
	case got != nil && want != nil && got.Equal(*want):
	default:
		*d = append(*d, fmt.Sprintf("%s: got %s, want %s", field, show(got), show(want)))
	}
}

// raw checks that an item kept its wire JSON: valid, and with the item's id.
func (d *diffs) raw(raw json.RawMessage, id string) {
	var v struct {
		ID string `json:"id"`
	}
	switch {
	case len(raw) == 0:
		*d = append(*d, "Raw is empty")
	case !json.Valid(raw):
		*d = append(*d, "Raw is not valid JSON")
	case json.Unmarshal(raw, &v) != nil || v.ID != id:
		*d = append(*d, fmt.Sprintf("Raw has id %q, want %q", v.ID, id))
	}
}

// show dereferences pointers for messages.
func show(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "nil"
		}
		return fmt.Sprintf("&%v", rv.Elem().Interface())
	}
	return fmt.Sprintf("%v", v)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func diffProject(g circleci.Project, w circlecitest.Project) []string {
	var d diffs
	d.eq("slug", g.Slug, w.Slug)
	d.eq("name", g.Name, w.Name)
	d.eq("organization_name", g.OrganizationName, w.OrganizationName)
	d.eq("organization_slug", g.OrganizationSlug, w.OrganizationSlug)
	d.eq("organization_id", g.OrganizationID, w.OrganizationID)
	d.eq("vcs_info.vcs_url", g.VCSInfo.VCSURL, w.VCSInfo.VCSURL)
	d.eq("vcs_info.provider", g.VCSInfo.Provider, w.VCSInfo.Provider)
	d.eq("vcs_info.default_branch", g.VCSInfo.DefaultBranch, w.VCSInfo.DefaultBranch)
	d.raw(g.Raw, g.ID)
	return d
}

func diffPipeline(g circleci.Pipeline, w circlecitest.Pipeline) []string {
	var d diffs
	d.eq("project_slug", g.ProjectSlug, w.ProjectSlug)
	d.eq("number", g.Number, w.Number)
	d.eq("state", g.State, w.State)
	d.time("created_at", g.CreatedAt, w.CreatedAt)
	d.timePtr("updated_at", g.UpdatedAt, &w.UpdatedAt)
	d.eq("errors", len(g.Errors), len(w.Errors))
	for i := range min(len(g.Errors), len(w.Errors)) {
		d.eq(fmt.Sprintf("errors[%d].type", i), g.Errors[i].Type, w.Errors[i].Type)
		d.eq(fmt.Sprintf("errors[%d].message", i), g.Errors[i].Message, w.Errors[i].Message)
	}
	d.eq("trigger.type", g.Trigger.Type, w.Trigger.Type)
	d.time("trigger.received_at", g.Trigger.ReceivedAt, w.Trigger.ReceivedAt)
	d.eq("trigger.actor.login", g.Trigger.Actor.Login, w.Trigger.Actor.Login)
	d.eq("trigger.actor.avatar_url", show(g.Trigger.Actor.AvatarURL), show(w.Trigger.Actor.AvatarURL))
	d.eq("vcs present", g.VCS != nil, w.VCS != nil)
	if g.VCS != nil && w.VCS != nil {
		d.eq("vcs.provider_name", g.VCS.ProviderName, w.VCS.ProviderName)
		d.eq("vcs.origin_repository_url", g.VCS.OriginRepositoryURL, w.VCS.OriginRepositoryURL)
		d.eq("vcs.target_repository_url", g.VCS.TargetRepositoryURL, w.VCS.TargetRepositoryURL)
		d.opt("vcs.revision", g.VCS.Revision, w.VCS.Revision)
		d.opt("vcs.branch", g.VCS.Branch, w.VCS.Branch)
		d.opt("vcs.tag", g.VCS.Tag, w.VCS.Tag)
		d.opt("vcs.review_id", g.VCS.ReviewID, w.VCS.ReviewID)
		d.opt("vcs.review_url", g.VCS.ReviewURL, w.VCS.ReviewURL)
		d.eq("vcs.commit present", g.VCS.Commit != nil, w.VCS.Commit != nil)
		if g.VCS.Commit != nil && w.VCS.Commit != nil {
			d.eq("vcs.commit.subject", show(g.VCS.Commit.Subject), show(&w.VCS.Commit.Subject))
			d.eq("vcs.commit.body", show(g.VCS.Commit.Body), show(&w.VCS.Commit.Body))
		}
	}
	d.eq("trigger_parameters present", g.TriggerParameters != nil, w.TriggerParameters != nil)
	if w.TriggerParameters != nil && w.TriggerParameters.Git != nil {
		var git struct {
			Branch      string `json:"branch"`
			Tag         string `json:"tag"`
			CheckoutSHA string `json:"checkout_sha"`
		}
		if err := json.Unmarshal(g.TriggerParameters["git"], &git); err != nil {
			d = append(d, "trigger_parameters.git: "+err.Error())
		}
		d.eq("trigger_parameters.git.branch", git.Branch, w.TriggerParameters.Git.Branch)
		d.eq("trigger_parameters.git.tag", git.Tag, w.TriggerParameters.Git.Tag)
		d.eq("trigger_parameters.git.checkout_sha", git.CheckoutSHA, w.TriggerParameters.Git.CheckoutSHA)
	}
	d.raw(g.Raw, g.ID)
	return d
}

func diffWorkflow(g circleci.Workflow, w circlecitest.Workflow) []string {
	var d diffs
	d.eq("pipeline_id", g.PipelineID, w.PipelineID)
	d.eq("pipeline_number", g.PipelineNumber, w.PipelineNumber)
	d.eq("project_slug", g.ProjectSlug, w.ProjectSlug)
	d.eq("name", g.Name, w.Name)
	d.eq("status", g.Status, w.Status)
	d.opt("started_by", g.StartedBy, w.StartedBy)
	d.opt("canceled_by", g.CanceledBy, w.CanceledBy)
	d.opt("errored_by", g.ErroredBy, w.ErroredBy)
	d.opt("tag", g.Tag, w.Tag)
	d.time("created_at", g.CreatedAt, w.CreatedAt)
	d.timePtr("stopped_at", g.StoppedAt, w.StoppedAt)
	d.optInt("auto_rerun_number", g.AutoRerunNumber, w.AutoRerunNumber)
	d.optInt("max_auto_reruns", g.MaxAutoReruns, w.MaxAutoReruns)
	d.raw(g.Raw, g.ID)
	return d
}

func diffJob(g circleci.Job, w circlecitest.Job) []string {
	var d diffs
	d.eq("workflow id (set by the client)", g.WorkflowID, w.WorkflowID)
	d.eq("name", g.Name, w.Name)
	d.eq("type", g.Type, w.Type)
	d.eq("status", g.Status, w.Status)
	d.eq("project_slug", g.ProjectSlug, w.ProjectSlug)
	d.eq("job_number", show(g.JobNumber), show(w.JobNumber))
	d.eq("dependencies", orEmpty(g.Dependencies), orEmpty(w.Dependencies))
	if len(g.Requires) > 0 || len(w.Requires) > 0 {
		d.eq("requires", g.Requires, w.Requires)
	}
	d.timePtr("started_at", g.StartedAt, w.StartedAt)
	d.timePtr("stopped_at", g.StoppedAt, w.StoppedAt)
	d.opt("approved_by", g.ApprovedBy, w.ApprovedBy)
	d.opt("canceled_by", g.CanceledBy, w.CanceledBy)
	d.opt("approval_request_id", g.ApprovalRequestID, w.ApprovalRequestID)
	d.raw(g.Raw, g.ID)
	return d
}

func diffUser(g circleci.User, w circlecitest.User) []string {
	var d diffs
	d.eq("login", g.Login, w.Login)
	d.eq("name", g.Name, w.Name)
	d.eq("avatar_url", show(g.AvatarURL), show(w.AvatarURL))
	d.raw(g.Raw, g.ID)
	return d
}

// checkSet compares what a crawl got with what the fake expects, by id: it
// must have no missing, extra, duplicate or mismatched entity.
func checkSet[G, W any](t *testing.T, what string, got []G, want []W, gid func(G) string, wid func(W) string, diff func(G, W) []string) {
	t.Helper()
	wantBy := make(map[string]W, len(want))
	for _, w := range want {
		wantBy[wid(w)] = w
	}
	gotBy := make(map[string]bool, len(got))
	var extra, dup, mismatched, missing []string
	for _, g := range got {
		id := gid(g)
		if gotBy[id] {
			dup = append(dup, id)
			continue
		}
		gotBy[id] = true
		w, ok := wantBy[id]
		if !ok {
			extra = append(extra, id)
			continue
		}
		if d := diff(g, w); len(d) > 0 {
			mismatched = append(mismatched, id+": "+strings.Join(d, "; "))
		}
	}
	for _, w := range want {
		if !gotBy[wid(w)] {
			missing = append(missing, wid(w))
		}
	}
	assert.Empty(t, missing, "%s: missing", what)
	assert.Empty(t, extra, "%s: extra", what)
	assert.Empty(t, dup, "%s: duplicated", what)
	assert.Empty(t, mismatched, "%s: mismatched", what)
	assert.Len(t, got, len(want), "%s: count", what)
}

// groupIDs returns, per group key, the ids in the order they come.
func groupIDs[T any](items []T, key, id func(T) string) map[string][]string {
	out := map[string][]string{}
	for _, it := range items {
		out[key(it)] = append(out[key(it)], id(it))
	}
	return out
}

// checkExpected compares a complete crawl with what the fake says a complete
// sync with that token must store or record as unreachable.
func checkExpected(t *testing.T, got crawlResult, want circlecitest.Expected) {
	t.Helper()

	// /me
	assert.Empty(t, diffUser(got.me, want.Me), "/me")
	assert.Equal(t, want.Me.ID, got.me.ID, "/me id")

	// /me/collaborations: vcs_type on the wire (not the spec's vcs-type) decodes.
	if assert.Len(t, got.collabs, len(want.Collaborations), "collaborations") {
		for i, w := range want.Collaborations {
			g := got.collabs[i]
			assert.Equal(t, show(w.ID), show(g.ID), "collaboration %d id", i)
			assert.Equal(t, w.VCSType, g.VCSType, "collaboration %d vcs_type", i)
			assert.NotEmpty(t, g.VCSType, "collaboration %d vcs_type decoded", i)
			assert.Equal(t, w.Name, g.Name, "collaboration %d name", i)
			assert.Equal(t, w.Slug, g.Slug, "collaboration %d slug", i)
			assert.Equal(t, w.AvatarURL, g.AvatarURL, "collaboration %d avatar_url", i)
			assert.True(t, json.Valid(g.Raw), "collaboration %d raw", i)
			assert.Contains(t, string(g.Raw), `"vcs_type"`, "the fake sends CircleCI's spelling")
		}
	}

	// v1.1 /projects: the slug the client builds is the project's v2 slug.
	if assert.Len(t, got.followed, len(want.FollowedProjects), "followed projects") {
		for i, w := range want.FollowedProjects {
			g := got.followed[i]
			assert.Equal(t, w.ProjectSlug, g.Slug(), "followed project %d (%s) slug", i, g.VCSURL)
			assert.Equal(t, w.VCSURL, g.VCSURL, "followed project %d vcs_url", i)
			assert.Equal(t, w.VCSType, g.VCSType, "followed project %d vcs_type", i)
			assert.True(t, json.Valid(g.Raw), "followed project %d raw", i)
		}
	}

	checkSet(t, "projects", got.projects, want.Projects,
		func(p circleci.Project) string { return p.ID }, func(p circlecitest.Project) string { return p.ID }, diffProject)
	checkSet(t, "pipelines", got.pipelines, want.Pipelines,
		func(p circleci.Pipeline) string { return p.ID }, func(p circlecitest.Pipeline) string { return p.ID }, diffPipeline)
	checkSet(t, "workflows", got.workflows, want.Workflows,
		func(w circleci.Workflow) string { return w.ID }, func(w circlecitest.Workflow) string { return w.ID }, diffWorkflow)
	checkSet(t, "jobs", got.jobs, want.Jobs,
		func(j circleci.Job) string { return j.ID }, func(j circlecitest.Job) string { return j.ID }, diffJob)
	checkSet(t, "users", got.users, want.Users,
		func(u circleci.User) string { return u.ID }, func(u circlecitest.User) string { return u.ID }, diffUser)

	// Order as CircleCI lists it: pipelines newest first per project,
	// workflows newest first per pipeline, jobs in list order per workflow.
	assert.Equal(t,
		groupIDs(want.Pipelines, func(p circlecitest.Pipeline) string { return p.ProjectSlug }, func(p circlecitest.Pipeline) string { return p.ID }),
		groupIDs(got.pipelines, func(p circleci.Pipeline) string { return p.ProjectSlug }, func(p circleci.Pipeline) string { return p.ID }),
		"pipeline order per project")
	assert.Equal(t,
		groupIDs(want.Workflows, func(w circlecitest.Workflow) string { return w.PipelineID }, func(w circlecitest.Workflow) string { return w.ID }),
		groupIDs(got.workflows, func(w circleci.Workflow) string { return w.PipelineID }, func(w circleci.Workflow) string { return w.ID }),
		"workflow order per pipeline")
	assert.Equal(t,
		groupIDs(want.Jobs, func(j circlecitest.Job) string { return j.WorkflowID }, func(j circlecitest.Job) string { return j.ID }),
		groupIDs(got.jobs, func(j circleci.Job) string { return j.WorkflowID }, func(j circleci.Job) string { return j.ID }),
		"job order per workflow")

	// What could not be read, and why, as the client classifies it.
	wantUnreachable := map[string]circlecitest.Unreachable{}
	for _, u := range want.Unreachable {
		wantUnreachable[u.ID] = u
	}
	assert.Len(t, got.unreachable, len(want.Unreachable), "unreachable entities")
	for id, e := range got.unreachable {
		u, ok := wantUnreachable[id]
		if !assert.True(t, ok, "%s is unreachable (%v) but the fake expects it readable", id, e) {
			continue
		}
		assert.Equal(t, u.HTTPStatus, e.StatusCode, "%s %s", u.Kind, id)
		switch u.Reason {
		case circlecitest.ReasonExpired:
			assert.Equal(t, circleci.ClassNotFound, e.Class, "expired pipeline %s", id)
			assert.True(t, e.Expired(), "expired pipeline %s: %v", id, e)
			assert.Equal(t, circleci.RoutePipelineWorkflow, e.Route)
		case circlecitest.ReasonServerError:
			assert.Equal(t, circleci.ClassServer, e.Class, "broken pipeline %s", id)
			assert.True(t, e.Retryable())
			assert.Equal(t, circleci.RoutePipelineWorkflow, e.Route)
		case circlecitest.ReasonNotFound:
			assert.Equal(t, circleci.ClassNotFound, e.Class, "missing user %s", id)
			assert.Equal(t, circleci.NotFoundEntity, e.NotFoundKind(), "missing user %s", id)
			assert.Equal(t, circleci.RouteUser, e.Route)
		default:
			t.Errorf("unknown reason %q", u.Reason)
		}
	}
}

// checkRequestCount checks the fake's counters against the request budget of
// a crawl that makes no retry.
func checkRequestCount(t *testing.T, st circlecitest.Stats, b circlecitest.RequestBudget) {
	t.Helper()
	assert.EqualValues(t, b.Projects, st.Count(circlecitest.RouteProject, 0), "GET /project/{slug}")
	assert.EqualValues(t, b.PipelinePages, st.Count(circlecitest.RouteProjectPipelines, 0), "pipeline pages")
	assert.EqualValues(t, b.WorkflowPages, st.Count(circlecitest.RoutePipelineWorkflows, 0), "workflow pages")
	assert.EqualValues(t, b.JobPages, st.Count(circlecitest.RouteWorkflowJobs, 0), "job pages")
	assert.EqualValues(t, b.Users, st.Count(circlecitest.RouteUser, 0), "GET /user/{id}")
	for _, r := range []string{circlecitest.RouteMe, circlecitest.RouteCollaborations, circlecitest.RouteFollowedProjects} {
		assert.EqualValues(t, 1, st.Count(r, 0), r)
	}
	assert.EqualValues(t, b.Total+discoveryRequests, st.Total,
		"Expected.MinimumRequests.Total (%d) counts no discovery call; the crawl adds exactly %d: GET /me, GET /me/collaborations and v1.1 GET /projects",
		b.Total, discoveryRequests)
}

// ---------------------------------------------------------------------------
// 1. Full crawl.

func TestFakeFullCrawl(t *testing.T) {
	t.Parallel()

	t.Run("everything matches Expected", func(t *testing.T) {
		t.Parallel()
		// Three projects, one per slug style; 22 pipelines each (two pages);
		// up to 25 jobs per workflow (some job lists span two pages).
		s := startFake(t, circlecitest.Options{Seed: 7, Projects: 3, PipelinesPerProject: 22, MaxWorkflowsPerPipeline: 2})
		log := newWireLog(t)
		c := newClient(t, s, fullToken, withWireLog(log))
		got := crawlWith(t, c)
		want := s.Expected(fullToken)
		checkExpected(t, got, want)
		st := s.Stats()
		checkRequestCount(t, st, want.MinimumRequests)
		assert.Zero(t, st.CountStatus(http.StatusTooManyRequests)+st.CountStatus(http.StatusInternalServerError))

		// The dataset exercises every slug style, with %2F-escaped slugs.
		var prefixes []string
		for _, p := range got.projects {
			prefixes = append(prefixes, strings.SplitN(p.Slug, "/", 2)[0])
			escaped := "/api/v2/project/" + strings.ReplaceAll(p.Slug, "/", "%2F")
			sent := log.to(func(path string) bool { return strings.HasPrefix(path, escaped) })
			require.NotEmpty(t, sent, "requests for %s", p.Slug)
			for _, r := range sent {
				assert.Contains(t, []string{escaped, escaped + "/pipeline"}, r.path, "the slug is one %%2F-escaped segment")
			}
		}
		assert.ElementsMatch(t, []string{"gh", "bb", "circleci"}, prefixes)

		// Org ids: the user's own account is a collaboration with a null id.
		var nullIDs int
		for _, co := range got.collabs {
			if co.ID == nil {
				nullIDs++
				assert.Equal(t, "github", co.VCSType)
			}
		}
		assert.Equal(t, 1, nullIDs, "one collaboration with id null")

		// The quirks the dataset must exercise for this test to mean anything.
		var nilJobNumber, nilStartedAt, approvals, runningWorkflows int
		for _, j := range got.jobs {
			if j.JobNumber == nil {
				nilJobNumber++
				assert.NotContains(t, string(j.Raw), `"job_number"`, "job_number is left out on the wire")
			}
			if j.StartedAt == nil {
				nilStartedAt++
				assert.Contains(t, string(j.Raw), `"started_at":null`, "started_at is null on the wire")
			}
			if j.Type == circleci.JobTypeApproval {
				approvals++
				assert.Nil(t, j.JobNumber, "approval jobs have no job_number")
			}
			assert.NotEmpty(t, j.WorkflowID)
		}
		for _, w := range got.workflows {
			if w.StoppedAt == nil {
				runningWorkflows++
				assert.False(t, circleci.IsTerminalWorkflowStatus(w.Status), "a workflow without stopped_at is %s", w.Status)
			}
		}
		assert.Positive(t, nilJobNumber, "jobs without job_number")
		assert.Positive(t, nilStartedAt, "jobs with started_at null")
		assert.Positive(t, approvals, "approval jobs")
		assert.Positive(t, runningWorkflows, "running workflows (stopped_at null)")
		assert.Greater(t, want.MinimumRequests.JobPages, len(want.Workflows), "some job lists span two pages")
		assert.Greater(t, want.MinimumRequests.PipelinePages, len(want.Projects), "pipeline lists span two pages")
		var noVCS int
		for _, p := range got.pipelines {
			if p.VCS == nil {
				noVCS++
				assert.True(t, strings.HasPrefix(p.ProjectSlug, "circleci/"), "only circleci/ pipelines lack vcs")
			}
		}
		assert.Positive(t, noVCS, "pipelines without vcs")
	})

	t.Run("with broken, expired and missing entities", func(t *testing.T) {
		t.Parallel()
		s := startFake(t, circlecitest.Options{Seed: 11, Projects: 3, PipelinesPerProject: 8, MaxJobsPerWorkflow: 6,
			Faults: circlecitest.Faults{BrokenPipelines: 2, ExpiredPipelines: 2, MissingUsers: 2}})
		c := newClient(t, s, fullToken)
		got := crawlWith(t, c)
		want := s.Expected(fullToken)
		require.Len(t, want.Unreachable, 6, "2 broken + 2 expired pipelines + 2 missing users")
		checkExpected(t, got, want)
		// The budget counts the failing workflow request of every broken and
		// expired pipeline, and the 404 of every missing user.
		checkRequestCount(t, s.Stats(), want.MinimumRequests)
		st := s.Stats()
		assert.EqualValues(t, 2, st.Count(circlecitest.RoutePipelineWorkflows, http.StatusInternalServerError))
		assert.EqualValues(t, 2, st.Count(circlecitest.RoutePipelineWorkflows, http.StatusNotFound))
		assert.EqualValues(t, 2, st.Count(circlecitest.RouteUser, http.StatusNotFound))
	})
}

// ---------------------------------------------------------------------------
// 2. Org pipelines and branch filters, across pages.

func TestFakeOrgPipelinesPaging(t *testing.T) {
	t.Parallel()
	// Six projects: two per org, 12 pipelines each, so every org lists 24
	// pipelines (two pages) and the whole list 72 (four pages).
	s := startFake(t, circlecitest.Options{Seed: 5, Projects: 6, PipelinesPerProject: 12, MaxJobsPerWorkflow: 3})
	log := newWireLog(t)
	c := newClient(t, s, fullToken, withWireLog(log))
	ctx := testContext(t)
	want := s.Expected(fullToken)
	orgOf := map[string]string{}
	for _, p := range want.Projects {
		orgOf[p.Slug] = p.OrganizationSlug
	}
	wantIDs := func(org string) []string {
		ids := []string{}
		for _, p := range want.Pipelines {
			if org == "" || orgOf[p.ProjectSlug] == org {
				ids = append(ids, p.ID)
			}
		}
		return ids
	}
	collect := func(org string) []string {
		ids := []string{}
		for p, err := range c.OrgPipelines(ctx, org) {
			require.NoError(t, err, "org %q", org)
			require.True(t, json.Valid(p.Raw))
			ids = append(ids, p.ID)
		}
		return ids
	}
	orgRequests := func() []sentRequest {
		return log.to(func(path string) bool { return path == "/api/v2/pipeline" })
	}

	collabs, err := c.Collaborations(ctx)
	require.NoError(t, err)
	var orgs []string
	for _, co := range collabs {
		if co.ID != nil {
			orgs = append(orgs, co.Slug)
		}
	}
	require.Len(t, orgs, 3, "gh, bb and circleci orgs")

	for _, org := range orgs {
		before := len(orgRequests())
		ids := collect(org)
		assert.Equal(t, wantIDs(org), ids, "org %s: every pipeline once, newest first", org)
		require.Len(t, ids, 24, "org %s", org)
		sent := orgRequests()[before:]
		require.Len(t, sent, 2, "org %s: two pages", org)
		for i, r := range sent {
			assert.Equal(t, []string{org}, r.query["org-slug"], "org %s page %d repeats the filter", org, i+1)
			assert.Equal(t, i > 0, r.query.Has("page-token"), "org %s page %d", org, i+1)
		}
	}

	// No org-slug: every visible project, four pages.
	before := len(orgRequests())
	assert.Equal(t, wantIDs(""), collect(""))
	assert.Len(t, orgRequests()[before:], 4)

	// The long VCS name of an org slug is accepted for the short one.
	assert.Equal(t, wantIDs("gh/acme"), collect("github/acme"))

	// The user's own account has no projects: one empty page.
	for _, co := range collabs {
		if co.ID == nil {
			assert.Empty(t, collect(co.Slug))
		}
	}

	// A page token is bound to the filters it was made with: sending it with
	// another org-slug is a 400, not a silent restart.
	first, err := c.OrgPipelinesPage(ctx, orgs[0], "")
	require.NoError(t, err)
	require.NotEmpty(t, first.NextPageToken)
	_, err = c.OrgPipelinesPage(ctx, orgs[1], first.NextPageToken)
	e := apiError(t, err, circleci.ClassBadRequest)
	assert.Equal(t, http.StatusBadRequest, e.StatusCode)
	assert.Equal(t, "Invalid page-token.", e.Message)
	assert.True(t, e.Continuation)
	assert.Empty(t, e.NotFoundKind())
	assert.False(t, e.Retryable())
}

func TestFakeBranchFilterPaging(t *testing.T) {
	t.Parallel()
	// Enough pipelines that each project's default branch spans two pages.
	s := startFake(t, circlecitest.Options{Seed: 3, Projects: 3, PipelinesPerProject: 48, MaxJobsPerWorkflow: 2})
	log := newWireLog(t)
	c := newClient(t, s, fullToken, withWireLog(log))
	ctx := testContext(t)
	want := s.Expected(fullToken)
	for _, proj := range want.Projects {
		branch := proj.VCSInfo.DefaultBranch
		var wantIDs []string
		tags := 0
		for _, p := range want.Pipelines {
			if p.ProjectSlug != proj.Slug {
				continue
			}
			if p.Branch() == branch {
				wantIDs = append(wantIDs, p.ID)
			}
			if p.Branch() == "" {
				tags++
			}
		}
		require.Greater(t, len(wantIDs), circlecitest.PageSize, "%s: %d pipelines on %s", proj.Slug, len(wantIDs), branch)

		path := "/api/v2/project/" + url.PathEscape(proj.Slug) + "/pipeline"
		before := len(log.to(func(p string) bool { return p == path }))
		var ids []string
		for p, err := range c.ProjectPipelines(ctx, proj.Slug, branch) {
			require.NoError(t, err)
			ids = append(ids, p.ID)
			// gh/ and bb/ carry the branch in vcs; circleci/ in trigger_parameters.git.
			if p.VCS != nil {
				require.NotNil(t, p.VCS.Branch, "pipeline %s", p.ID)
				assert.Equal(t, branch, *p.VCS.Branch)
				assert.Nil(t, p.VCS.Tag, "tag pipelines are left out")
			} else {
				var git struct {
					Branch string `json:"branch"`
				}
				require.NoError(t, json.Unmarshal(p.TriggerParameters["git"], &git))
				assert.Equal(t, branch, git.Branch)
			}
		}
		assert.Equal(t, wantIDs, ids, "%s branch %s", proj.Slug, branch)
		sent := log.to(func(p string) bool { return p == path })[before:]
		require.Len(t, sent, 2, "%s: two pages", proj.Slug)
		for i, r := range sent {
			assert.Equal(t, []string{branch}, r.query["branch"], "page %d repeats the branch filter", i+1)
			assert.Equal(t, i > 0, r.query.Has("page-token"), "page %d", i+1)
		}
	}
}

// ---------------------------------------------------------------------------
// 8. Time moves: Advance.

func TestFakeAdvance(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 8, Projects: 3, PipelinesPerProject: 8, MaxJobsPerWorkflow: 6})
	c := newClient(t, s, fullToken)
	ctx := testContext(t)

	before := crawlWith(t, c)
	checkExpected(t, before, s.Expected(fullToken))
	oldPipelines := map[string]circleci.Pipeline{}
	var newestBefore time.Time
	for _, p := range before.pipelines {
		oldPipelines[p.ID] = p
		if p.CreatedAt.After(newestBefore) {
			newestBefore = p.CreatedAt
		}
	}
	oldJobs := map[string]bool{}
	maxJobNumber := map[string]int64{}
	for _, j := range before.jobs {
		oldJobs[j.ID] = true
		if j.JobNumber != nil {
			maxJobNumber[j.ProjectSlug] = max(maxJobNumber[j.ProjectSlug], *j.JobNumber)
		}
	}
	var running int
	for _, w := range before.workflows {
		if !circleci.IsTerminalWorkflowStatus(w.Status) {
			running++
		}
	}
	require.Positive(t, running, "the dataset has active workflows to finish")

	// A listing that started before the clock moved goes on where it was.
	var oldOrgOrder []string
	for p, err := range c.OrgPipelines(ctx, "") {
		require.NoError(t, err)
		oldOrgOrder = append(oldOrgOrder, p.ID)
	}
	require.Greater(t, len(oldOrgOrder), circlecitest.PageSize)
	page1, err := c.OrgPipelinesPage(ctx, "", "")
	require.NoError(t, err)
	require.NotEmpty(t, page1.NextPageToken)

	res := s.Advance(circlecitest.Advance{NewPipelines: 4, FinishRunning: true, Reruns: 2, Step: 2 * time.Hour})
	require.Len(t, res.NewPipelines, 4)
	require.Len(t, res.RerunWorkflows, 2)
	require.Len(t, res.FinishedWorkflows, running)

	t.Run("a page token survives new pipelines", func(t *testing.T) {
		page2, err := c.OrgPipelinesPage(ctx, "", page1.NextPageToken)
		require.NoError(t, err)
		var gotIDs []string
		for _, p := range page2.Items {
			gotIDs = append(gotIDs, p.ID)
		}
		wantIDs := oldOrgOrder[circlecitest.PageSize:min(len(oldOrgOrder), 2*circlecitest.PageSize)]
		assert.Equal(t, wantIDs, gotIDs, "page 2 goes on after page 1: no pipeline repeated or skipped")
	})

	t.Run("new pipelines come first, newest first", func(t *testing.T) {
		page, err := c.OrgPipelinesPage(ctx, "", "")
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(page.Items), len(res.NewPipelines))
		var first []string
		for i, p := range page.Items[:len(res.NewPipelines)] {
			first = append(first, p.ID)
			assert.True(t, p.CreatedAt.After(newestBefore), "new pipeline %d is newer than every old one", i)
			assert.NotContains(t, oldPipelines, p.ID)
		}
		assert.Equal(t, res.NewPipelines, first)
		for i := 1; i < len(page.Items); i++ {
			assert.False(t, page.Items[i].CreatedAt.After(page.Items[i-1].CreatedAt), "newest first at %d", i)
		}
		// Per project too, with higher numbers.
		for _, proj := range before.projects {
			var prevNumber int64 = math.MaxInt64
			var seenOld bool
			for p, err := range c.ProjectPipelines(ctx, proj.Slug, "") {
				require.NoError(t, err)
				_, old := oldPipelines[p.ID]
				assert.False(t, seenOld && !old, "%s: a new pipeline after an old one", proj.Slug)
				seenOld = seenOld || old
				assert.Less(t, p.Number, prevNumber, "%s: numbers decrease down the list", proj.Slug)
				prevNumber = p.Number
			}
		}
	})

	t.Run("finished workflows are terminal", func(t *testing.T) {
		finishedJobs := map[string]bool{}
		for _, id := range res.FinishedJobs {
			finishedJobs[id] = true
		}
		require.NotEmpty(t, finishedJobs)
		for _, id := range res.FinishedWorkflows {
			wf, err := c.Workflow(ctx, id)
			require.NoError(t, err)
			assert.True(t, circleci.IsTerminalWorkflowStatus(wf.Status), "workflow %s is %s", id, wf.Status)
			require.NotNil(t, wf.StoppedAt, "workflow %s", id)
			for j, err := range c.WorkflowJobs(ctx, id) {
				require.NoError(t, err)
				assert.Equal(t, id, j.WorkflowID)
				assert.True(t, circleci.IsTerminalJobStatus(j.Status), "job %s is %s", j.ID, j.Status)
				if !finishedJobs[j.ID] {
					continue // already terminal before (a not_run job keeps its null times)
				}
				delete(finishedJobs, j.ID)
				assert.NotNil(t, j.StartedAt, "finished job %s", j.ID)
				assert.NotNil(t, j.StoppedAt, "finished job %s", j.ID)
				if j.Type == circleci.JobTypeBuild {
					assert.NotNil(t, j.JobNumber, "finished build job %s has a number", j.ID)
				} else {
					assert.NotNil(t, j.ApprovedBy, "approved job %s", j.ID)
				}
			}
		}
		assert.Empty(t, finishedJobs, "every job Advance finished was listed under its workflow")
	})

	t.Run("a rerun is a new workflow under an older pipeline whose updated_at does not move", func(t *testing.T) {
		for i, pid := range res.RerunPipelines {
			old, ok := oldPipelines[pid]
			require.True(t, ok, "rerun pipeline %s is an old one", pid)
			assert.True(t, old.CreatedAt.Before(res.Now.Add(-24*time.Hour)), "rerun under a pipeline older than a day")
			p, err := c.Pipeline(ctx, pid)
			require.NoError(t, err)
			require.NotNil(t, p.UpdatedAt)
			assert.True(t, p.UpdatedAt.Equal(*old.UpdatedAt), "updated_at did not move: %s vs %s", p.UpdatedAt, old.UpdatedAt)

			var wfs []circleci.Workflow
			for wf, err := range c.PipelineWorkflows(ctx, pid) {
				require.NoError(t, err)
				wfs = append(wfs, wf)
			}
			require.NotEmpty(t, wfs)
			rerun := wfs[0]
			assert.Equal(t, res.RerunWorkflows[i], rerun.ID, "the rerun is listed first (newest first)")
			assert.True(t, circleci.IsTerminalWorkflowStatus(rerun.Status))
			var names []string
			for _, wf := range wfs[1:] {
				names = append(names, wf.Name)
				assert.True(t, rerun.CreatedAt.After(wf.CreatedAt))
			}
			assert.Contains(t, names, rerun.Name, "a rerun keeps the name of the workflow it reran")
			for j, err := range c.WorkflowJobs(ctx, rerun.ID) {
				require.NoError(t, err)
				assert.False(t, oldJobs[j.ID], "rerun job %s has a new id", j.ID)
				if j.JobNumber != nil {
					assert.Greater(t, *j.JobNumber, maxJobNumber[j.ProjectSlug], "rerun job %s has a new number", j.ID)
				}
			}
		}
	})

	t.Run("a fresh crawl matches Expected", func(t *testing.T) {
		s.ResetStats()
		after := crawlWith(t, c)
		want := s.Expected(fullToken)
		checkExpected(t, after, want)
		checkRequestCount(t, s.Stats(), want.MinimumRequests)
	})
}

// ---------------------------------------------------------------------------
// 10. The metrics hook.

// observation is one Observer call.
type observation struct {
	route, method string
	status        int
}

type observations struct {
	mu  sync.Mutex
	obs []observation
}

func (o *observations) ObserveRequest(route, method string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.obs = append(o.obs, observation{route, method, status})
}

func (o *observations) all() []observation {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.obs)
}

func TestFakeMetricsObserver(t *testing.T) {
	t.Parallel()
	s := startFake(t, circlecitest.Options{Seed: 10, Projects: 3, PipelinesPerProject: 22, MaxJobsPerWorkflow: 25,
		Faults: circlecitest.Faults{BrokenPipelines: 1, ExpiredPipelines: 1, MissingUsers: 1}})
	obs := &observations{}
	c := newClient(t, s, fullToken, withObserver(obs))
	bad := newClient(t, s, badToken, withObserver(obs))
	ctx := testContext(t)

	// A whole crawl (200s, 404s of expired pipelines and missing users, 500s
	// of broken ones), then a few failures of other kinds.
	got := crawlWith(t, c)
	checkExpected(t, got, s.Expected(fullToken))
	_, err := c.Project(ctx, "gh/acme/no-such-project")
	apiError(t, err, circleci.ClassNotFound)
	_, err = bad.Me(ctx)
	apiError(t, err, circleci.ClassUnauthorized)
	_, err = bad.Project(ctx, got.projects[0].Slug)
	apiError(t, err, circleci.ClassNotFound)
	_, err = c.PipelineWorkflowsPage(ctx, "not-a-uuid", "")
	apiError(t, err, circleci.ClassBadRequest)

	routes := []string{circleci.RouteMe, circleci.RouteCollaborations, circleci.RouteFollowedProjects, circleci.RouteProject,
		circleci.RouteOrgPipelines, circleci.RouteProjectPipelines, circleci.RoutePipeline, circleci.RoutePipelineWorkflow,
		circleci.RouteWorkflow, circleci.RouteWorkflowJobs, circleci.RouteUser}
	st := s.Stats()
	all := obs.all()
	assert.EqualValues(t, st.Total, len(all), "one observation per HTTP request")

	counts := map[string]map[int]int64{}
	for _, o := range all {
		assert.Contains(t, routes, o.route, "a route template, never a concrete URL")
		assert.NotContains(t, o.route, "%2F")
		assert.Equal(t, http.MethodGet, o.method)
		key := o.method + " " + o.route
		if counts[key] == nil {
			counts[key] = map[int]int64{}
		}
		counts[key][o.status]++
	}
	assert.Equal(t, st.Requests, counts, "per route and status, the observer agrees with the fake")
	for _, status := range []int{200, 400, 401, 404, 500} {
		assert.Positive(t, st.CountStatus(status), "the workload covers HTTP %d", status)
	}
}

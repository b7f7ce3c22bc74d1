package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// This file holds what the fault tests (faults_test.go, outage_test.go,
// ratelimit_test.go, resync_test.go, snapshot_test.go) share: worker process
// environments, waiting for a point of a sync, the pending activities and
// histories of the project workflows, a recording (and rewriting) proxy in
// front of the fake, and the figures each test logs.

// pageActivity is the registered name of the pipeline page activity.
const pageActivity = "SyncPipelinePage"

// faultWorkerEnv is the environment of a worker process on taskQueue, storing into
// dbURL, with token in tokenEnv; extra (NAME=value) come last and win.
func faultWorkerEnv(hostPort, dbURL, taskQueue, tokenEnv, token string, extra ...string) []string {
	env := []string{
		"TEMPORAL_ADDRESS=" + hostPort,
		"TEMPORAL_NAMESPACE=default",
		syncworker.EnvDatabaseURL + "=" + dbURL,
		syncworker.EnvAllowedBaseURLs + "=*",
		syncworker.EnvTaskQueue + "=" + taskQueue,
		syncworker.EnvRate + "=1000",
		syncworker.EnvBurst + "=100",
		syncworker.EnvMaxConcurrent + "=8",
		syncworker.EnvPageConcurrency + "=2",
		syncworker.EnvStopTimeout + "=5s",
		syncworker.EnvLogFormat + "=json",
		syncworker.EnvLogLevel + "=debug",
		tokenEnv + "=" + token,
	}
	return append(env, extra...)
}

// runAllAsync starts runAll in the background; its outcome comes on the
// channel.
func (s *syncer) runAllAsync(ins []workflows.ConnectionSyncInput) <-chan syncOutcome {
	done := make(chan syncOutcome, 1)
	go func() {
		results, errs := s.runAll(ins)
		done <- syncOutcome{results, errs}
	}()
	return done
}

// awaitOutcome waits for runAllAsync's outcome (at most syncTimeout and a
// bit) and checks it (checkResults).
func awaitOutcome(t *testing.T, ins []workflows.ConnectionSyncInput, done <-chan syncOutcome) []workflows.ConnectionSyncResult {
	t.Helper()
	select {
	case out := <-done:
		return checkResults(t, ins, out.results, out.errs)
	case <-time.After(syncTimeout + 10*time.Second):
		t.Fatalf("the syncs did not finish")
	}
	return nil
}

// waitFor calls cond every interval until it returns true, and fails t if
// that takes longer than timeout or cond returns an error.
func waitFor(t *testing.T, what string, timeout, interval time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, timeout)
		}
		time.Sleep(interval)
	}
}

// openWhenCreated opens dbURL for reading (openDB) once the worker created it:
// a SQLite file that is not there would be created by opening it. alive
// reports whether the worker is still there to create it.
func openWhenCreated(t *testing.T, dbURL string, alive func() bool) *sql.DB {
	t.Helper()
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		waitFor(t, "the SQLite file "+path, time.Minute, 10*time.Millisecond, func() (bool, error) {
			if _, err := os.Stat(path); err == nil {
				return true, nil
			}
			if !alive() {
				return false, fmt.Errorf("the worker ended before it created %s", path)
			}
			return false, nil
		})
	}
	db, err := openDB(dbURL)
	if err != nil {
		t.Fatalf("open %s: %v", dbURL, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// storedPipelines returns the pipelines stored in all (0 while the schema is
// not there yet).
func storedPipelines(ctx context.Context, db *sql.DB) int {
	counts, err := pipelineCounts(ctx, db)
	if err != nil {
		return 0
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// projectRef is a project of a test's syncs and its ProjectSync workflow.
type projectRef struct {
	Slug       string
	WorkflowID string
	Pipelines  int // in the fake's Expected
}

// projectRefs lists the projects the syncs of ins cover (each input syncs the
// projects of its organisation), with their workflow IDs.
func projectRefs(ins []workflows.ConnectionSyncInput, ex circlecitest.Expected) []projectRef {
	pipelines := map[string]int{}
	for _, p := range ex.Pipelines {
		pipelines[p.ProjectSlug]++
	}
	var out []projectRef
	for _, in := range ins {
		for _, p := range ex.Projects {
			if p.OrganizationSlug == in.OrgSlug {
				out = append(out, projectRef{p.Slug, workflows.ProjectWorkflowID(in.ConnectionID, p.Slug), pipelines[p.Slug]})
			}
		}
	}
	return out
}

// describe describes the latest run of workflow id (nil, nil while it does not
// exist yet).
func describe(ctx context.Context, c client.Client, id string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, nil
		}
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	return d, nil
}

// heldActivity is an activity a worker had started and not finished.
type heldActivity struct {
	WorkflowID, RunID, ActivityID, Type string
	Attempt                             int32
	Identity                            string // the worker's
}

func (h heldActivity) String() string {
	return fmt.Sprintf("%s %s (activity %s, attempt %d, worker %s)", h.WorkflowID, h.Type, h.ActivityID, h.Attempt,
		h.Identity)
}

// startedActivities returns the activities of the latest runs of ids that a
// worker has started and not finished (pending in state STARTED).
func startedActivities(ctx context.Context, c client.Client, ids []string) ([]heldActivity, error) {
	var out []heldActivity
	for _, id := range ids {
		d, err := describe(ctx, c, id)
		if err != nil || d == nil {
			if err != nil {
				return nil, err
			}
			continue
		}
		for _, p := range d.GetPendingActivities() {
			if p.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
				continue
			}
			out = append(out, heldActivity{
				WorkflowID: id, RunID: d.GetWorkflowExecutionInfo().GetExecution().GetRunId(),
				ActivityID: p.GetActivityId(), Type: p.GetActivityType().GetName(), Attempt: p.GetAttempt(),
				Identity: p.GetLastWorkerIdentity(),
			})
		}
	}
	return out, nil
}

// workflowIDs returns the workflow IDs of refs.
func workflowIDs(refs []projectRef) []string {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.WorkflowID
	}
	return ids
}

// activityOutcome is what the history of a run says of one activity.
type activityOutcome struct {
	Type       string
	MaxAttempt int32  // of the attempt that ended it (0: not ended)
	Identity   string // of the worker that ran that attempt
	Completed  bool
}

// activityInHistory reads, from the history of run runID of workflow id, how
// activity activityID ended.
func activityInHistory(ctx context.Context, c client.Client, id, runID, activityID string) (activityOutcome, error) {
	var out activityOutcome
	var scheduled int64
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return out, fmt.Errorf("history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityId() == activityID {
			scheduled = ev.GetEventId()
			out.Type = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskStartedEventAttributes(); a != nil && scheduled != 0 && a.GetScheduledEventId() == scheduled {
			out.MaxAttempt, out.Identity = a.GetAttempt(), a.GetIdentity()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && scheduled != 0 && a.GetScheduledEventId() == scheduled {
			out.Completed = true
		}
	}
	return out, nil
}

// completedActivities counts the activities of type typ that the history of
// run runID of workflow id shows completed.
func completedActivities(ctx context.Context, c client.Client, id, runID, typ string) (int, error) {
	types := map[int64]string{}
	n := 0
	it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, fmt.Errorf("history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
			types[ev.GetEventId()] = a.GetActivityType().GetName()
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && types[a.GetScheduledEventId()] == typ {
			n++
		}
	}
	return n, nil
}

// requireHeldActivitiesRetried checks that each activity a killed worker held
// was completed by a later attempt (attempt > 1), and returns the outcomes.
func requireHeldActivitiesRetried(t *testing.T, c client.Client, held []heldActivity) []activityOutcome {
	t.Helper()
	var outs []activityOutcome
	for _, h := range held {
		o, err := activityInHistory(context.Background(), c, h.WorkflowID, h.RunID, h.ActivityID)
		if err != nil {
			t.Fatalf("%v", err)
		}
		t.Logf("held by the killed worker: %s → completed %v by attempt %d (worker %s)", h, o.Completed, o.MaxAttempt,
			o.Identity)
		if !o.Completed || o.MaxAttempt < 2 {
			t.Errorf("activity %s: completed %v by attempt %d; want it completed by a retry (attempt > 1)", h,
				o.Completed, o.MaxAttempt)
		}
		outs = append(outs, o)
	}
	return outs
}

// failureReason names the failure of an activity attempt: an ApplicationError's
// type, timeout_<kind> for a timeout, or the failure's kind.
func failureReason(f *failurepb.Failure) string {
	for f != nil {
		switch {
		case f.GetApplicationFailureInfo() != nil:
			return f.GetApplicationFailureInfo().GetType()
		case f.GetTimeoutFailureInfo() != nil:
			return "timeout_" + strings.ToLower(strings.TrimPrefix(f.GetTimeoutFailureInfo().GetTimeoutType().String(),
				"TIMEOUT_TYPE_"))
		case f.GetCanceledFailureInfo() != nil:
			return "canceled"
		case f.GetCause() == nil:
			return "other"
		}
		f = f.GetCause()
	}
	return "none"
}

// ---------------------------------------------------------------------------
// A proxy in front of the fake: it records every request (arrival time,
// status, Retry-After) and may rewrite response bodies.

// apiRequest is one request through an apiProxy.
type apiRequest struct {
	Arrived    time.Time // when the proxy received it
	Answered   time.Time // when the proxy forwarded the answer
	Method     string
	Path       string
	Status     int
	RetryAfter time.Duration // of a 429 (0 when none)
	// Delivered is false when the client had given up on the request (its
	// context was cancelled) by the time the answer was written: it never saw
	// the answer (and its Retry-After).
	Delivered bool
}

// apiProxy is a reverse proxy to the fake that records the requests.
type apiProxy struct {
	// URL is the proxy's base URL: give it to the syncs as base_url.
	URL string

	mu   sync.Mutex
	reqs []apiRequest
	// rewrite, if set, may change a 200 answer's body; it returns the new body
	// and how many entities it changed.
	rewrite  func(path string, body []byte) ([]byte, int)
	rewrites int
}

// startAPIProxy starts a proxy to the fake at target (closed when t ends).
func startAPIProxy(t *testing.T, target string) *apiProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("proxy target %s: %v", target, err)
	}
	p := &apiProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		rewrite := p.rewrite
		p.mu.Unlock()
		if rewrite == nil || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		body, n := rewrite(resp.Request.URL.Path, body)
		p.mu.Lock()
		p.rewrites += n
		p.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		rp.ServeHTTP(rec, r)
		req := apiRequest{Arrived: arrived, Answered: rec.wrote, Method: r.Method, Path: r.URL.Path, Status: rec.status,
			Delivered: r.Context().Err() == nil}
		if rec.status == http.StatusTooManyRequests {
			if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err == nil {
				req.RetryAfter = time.Duration(s) * time.Second
			}
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, req)
		p.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// setRewrite sets (or, with nil, clears) the body rewriter.
func (p *apiProxy) setRewrite(f func(path string, body []byte) ([]byte, int)) {
	p.mu.Lock()
	p.rewrite = f
	p.mu.Unlock()
}

// rewritten returns how many entities the rewriter changed.
func (p *apiProxy) rewritten() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rewrites
}

// requests returns the requests recorded so far, in arrival order.
func (p *apiProxy) requests() []apiRequest {
	p.mu.Lock()
	out := append([]apiRequest(nil), p.reqs...)
	p.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Arrived.Before(out[j].Arrived) })
	return out
}

// statusRecorder remembers the status and when the header was written.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  time.Time
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status, r.wrote = code, time.Now()
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status, r.wrote = http.StatusOK, time.Now()
	}
	return r.ResponseWriter.Write(b)
}

// retryAfterReport is the check of the client's respect of Retry-After.
type retryAfterReport struct {
	Windows     int // 429s with a Retry-After
	Undelivered int // 429s written to a request the client had given up on
	// Shortened counts the windows cut to an earlier 429's (see
	// retryAfterViolations).
	Shortened  int
	Violations int // requests that arrived inside a window
	Examples   []string
}

// retryAfterViolations checks every 429 with a Retry-After in reqs: a request
// that arrived after the 429 was answered plus grace (requests already on
// their way) and before its retry time (answer + Retry-After) is a violation.
// All requests count: the syncs share one token, and CircleCI's limit is per
// token.
//
// An activity stops its other requests when one fails, so a 429 answered
// within grace after another one may go to a request the client has already
// cancelled: it never sees that answer. Such a 429's window is taken to end
// with the earlier one's; a 429 the proxy knows undelivered opens none.
func retryAfterViolations(reqs []apiRequest, grace time.Duration) retryAfterReport {
	var rep retryAfterReport
	var limited []apiRequest
	for _, r := range reqs {
		if r.Status == http.StatusTooManyRequests && r.RetryAfter > 0 {
			limited = append(limited, r)
		}
	}
	sort.Slice(limited, func(i, j int) bool { return limited[i].Answered.Before(limited[j].Answered) })
	for i, r := range limited {
		if !r.Delivered {
			rep.Undelivered++
			continue
		}
		rep.Windows++
		from, until := r.Answered.Add(grace), r.Answered.Add(r.RetryAfter)
		for j := i - 1; j >= 0 && r.Answered.Sub(limited[j].Answered) <= grace; j-- {
			if end := limited[j].Answered.Add(limited[j].RetryAfter); end.Before(until) {
				until = end
				rep.Shortened++
			}
		}
		for _, o := range reqs {
			if o.Arrived.After(from) && o.Arrived.Before(until) {
				rep.Violations++
				if len(rep.Examples) < 5 {
					rep.Examples = append(rep.Examples, fmt.Sprintf("%s %s arrived %s after a 429 (Retry-After %s) of %s",
						o.Method, o.Path, o.Arrived.Sub(r.Answered).Round(time.Millisecond), r.RetryAfter, r.Path))
				}
			}
		}
	}
	return rep
}

// ---------------------------------------------------------------------------
// Figures.

// figures are what a fault test measured, logged on one line (FIGURES ...)
// for the reports.
type figures struct {
	Faults     string // what was injected, and how much
	Rows       int    // rows compared with Expected
	Missing    int
	Extra      int
	Mismatched int
	Requests   int64 // CircleCI API requests answered by the fake
	Runs       int   // workflow runs in the histories
	MaxAttempt int32
	Retries    map[string]int
	Start      time.Time
}

// fromReport fills the table figures from a comparison.
func (f *figures) fromReport(rep dbReport) {
	f.Rows = rep.compared()
	for _, d := range rep.Tables {
		f.Missing += d.Missing
		f.Extra += d.Extra
		f.Mismatched += d.Mismatched
	}
}

// fromHistories fills the history figures.
func (f *figures) fromHistories(st chainStats) {
	f.Runs = 0
	for _, n := range st.Runs {
		f.Runs += n
	}
	f.MaxAttempt, f.Retries = st.MaxAttempt, st.Retries
}

// log writes the figures on one line.
func (f figures) log(t *testing.T) {
	t.Helper()
	t.Logf("FIGURES %s: faults [%s]; rows compared %d, missing %d, extra %d, mismatched %d; requests %d; "+
		"workflow runs %d; max attempt %d, retried activities by last failure %v; wall %s",
		t.Name(), f.Faults, f.Rows, f.Missing, f.Extra, f.Mismatched, f.Requests, f.Runs, f.MaxAttempt, f.Retries,
		time.Since(f.Start).Round(100*time.Millisecond))
}

package e2e

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/webhook/receiver"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestWebhookFakeDelivery: after a full sync, the fake reruns weeks-old
// pipelines, started by users no sync has seen, and delivers the events itself
// (signed, some twice, reordered) to a receiver over verified TLS, registered
// with `starter webhooks register`. With no cycle (each connection started by
// its first event, targets-only), every table equals the truth, the new users
// included; both payload variants (pipeline.vcs and trigger_parameters) arrive.
func TestWebhookFakeDelivery(t *testing.T) {
	starter := buildCommand(t, "./starter")
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			roots := x509.NewCertPool()
			sc := newRerunScenario(t, b, "delivered", func(o *circlecitest.Options) {
				o.Webhooks = circlecitest.WebhookOptions{DuplicateRate: 0.5, Reorder: true,
					RetryBase: 200 * time.Millisecond, RootCAs: roots}
			})
			const secret = "fake-delivered-secret"
			seen := &seenEvents{}
			srv := startReceiver(t, sc, secret, seen)
			roots.AddCert(srv.Certificate())
			for _, in := range sc.ins {
				registerWebhooks(t, starter, sc, in, srv.URL, secret)
			}
			adv := sc.fake.Advance(circlecitest.Advance{Reruns: 3, RerunsFromFailed: 2, RerunMinAge: oldRerunAge,
				RerunUsers: 2})
			require.NotEmpty(t, adv.RerunWorkflows)
			require.NoError(t, sc.fake.WaitDeliveries(t.Context()))
			st := sc.fake.DeliveryStats()
			t.Logf("deliveries: %+v; variants %v", st, seen.variants)
			require.Zero(t, st.Failed)
			require.Positive(t, st.Duplicates)
			require.Positive(t, seen.variants["vcs"], "events with pipeline.vcs")
			require.Positive(t, seen.variants["trigger_parameters"], "events with pipeline.trigger_parameters")
			for conn, ids := range seen.ids {
				var res workflows.ConnectionSyncResult
				require.NoError(t, sc.s.c.GetWorkflow(t.Context(), workflows.ConnectionWorkflowID(conn), "").Get(t.Context(), &res))
				require.Zero(t, res.Cycle, "no cycle ran")
				require.Equal(t, len(ids), countEvents(historyOf(t, sc, conn), enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
					"connection %s: one Update per event", conn)
			}
			requireNewUsers(t, sc, adv.RerunUsers)
			requireTablesEqual(t, sc.dbURL, sc.fake.Expected(sc.fake.Token()))
		})
	}
}

// seenEvents records, per connection, the distinct event ids the receiver got,
// and how many bodies carried each payload variant.
type seenEvents struct {
	mu       sync.Mutex
	ids      map[string]map[string]bool
	variants map[string]int
}

// wrap records each request's event before h handles it.
func (s *seenEvents) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var ev struct {
			ID       string `json:"id"`
			Pipeline struct {
				VCS               json.RawMessage `json:"vcs"`
				TriggerParameters json.RawMessage `json:"trigger_parameters"`
			} `json:"pipeline"`
		}
		_ = json.Unmarshal(body, &ev)
		conn := strings.TrimPrefix(r.URL.Path, receiver.RoutePrefix)
		s.mu.Lock()
		if s.ids == nil {
			s.ids, s.variants = map[string]map[string]bool{}, map[string]int{}
		}
		if s.ids[conn] == nil {
			s.ids[conn] = map[string]bool{}
		}
		s.ids[conn][ev.ID] = true
		if ev.Pipeline.VCS != nil {
			s.variants["vcs"]++
		}
		if ev.Pipeline.TriggerParameters != nil {
			s.variants["trigger_parameters"]++
		}
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// startReceiver serves the receiver over TLS for sc's connections (targets-only
// runs idle after 3 s).
func startReceiver(t *testing.T, sc *rerunScenario, secret string, seen *seenEvents) *httptest.Server {
	conns := receiver.Connections{}
	idle := workflows.Duration(3 * time.Second)
	for _, in := range sc.ins {
		in.TargetsIdle = &idle
		conns[in.ConnectionID] = in
	}
	h := receiver.NewHandler(conns, receiver.Options{Secrets: receiver.Secrets{Global: secret},
		Handoff: receiver.Temporal{Client: sc.s.c, TaskQueue: sc.s.taskQueue}, HandoffTimeout: 10 * time.Second})
	srv := httptest.NewTLSServer(seen.wrap(receiver.NewMux(h, false)))
	t.Cleanup(srv.Close)
	return srv
}

// registerWebhooks runs `starter webhooks register` for in's org against the
// fake, the receiver at url, and checks that running it again creates none.
func registerWebhooks(t *testing.T, starter string, sc *rerunScenario, in workflows.ConnectionSyncInput, url, secret string) {
	t.Helper()
	for i, want := range []string{"created", "exists"} {
		cmd := exec.Command(starter, "webhooks", "register", "-connection", in.ConnectionID, "-url", url,
			"-org", in.OrgSlug, "-base-url", sc.fake.URL, "-token-env", in.TokenEnv)
		cmd.Env = append(os.Environ(), "CIRCLECI_WEBHOOK_SECRET="+secret, "CIRCLECI_WEBHOOK_SECRETS_DIR=")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "starter webhooks register (run %d):\n%s", i+1, out)
		require.Contains(t, string(out), want, "run %d:\n%s", i+1, out)
		require.NotContains(t, string(out), secret)
		t.Logf("starter webhooks register (run %d):\n%s", i+1, out)
	}
}

// requireNewUsers requires ids in the truth, so that the table comparison
// covers them.
func requireNewUsers(t *testing.T, sc *rerunScenario, ids []string) {
	t.Helper()
	require.NotEmpty(t, ids)
	ex := sc.fake.Expected(sc.fake.Token())
	for _, id := range ids {
		found := false
		for _, u := range ex.Users {
			found = found || u.ID == id
		}
		require.True(t, found, "user %s in the truth", id)
	}
}

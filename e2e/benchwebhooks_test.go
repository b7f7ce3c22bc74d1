package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/circleci"
	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/webhook/receiver"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// hookLatency is the fake's latency per CircleCI request in BenchmarkWebhooks.
const hookLatency = 30 * time.Millisecond

// hookBench is BenchmarkWebhooks' world: the fake (its deliveries registered
// at the receiver), a worker, a receiver whose Temporal connection goes
// through a proxy, and the database.
type hookBench struct {
	fake    *circlecitest.Server
	ins     []workflows.ConnectionSyncInput
	proxy   *testenv.TCPProxy
	log     *hookLog
	db      *sql.DB
	backend string
	url     string // the receiver's route prefix
	secret  string
}

// BenchmarkWebhooks measures the webhook path on one backend (PostgreSQL when
// TEST_DATABASE_URL is set): event received → rows committed, requests per
// pipeline and for a burst, 1,000 events a minute, and Temporal unreachable
// for 20 s. It prints figures and asserts nothing. Run it with `make bench-webhooks`.
func BenchmarkWebhooks(b *testing.B) {
	h := newHookBench(b)
	h.latency(b, 6)
	h.burst(b, 50)
	h.rate(b, time.Minute)
	h.outage(b, 20*time.Second)
}

// newHookBench starts everything, runs the full sync and registers one webhook
// per project through the fake's /webhook API.
func newHookBench(b *testing.B) *hookBench {
	tsrv := startTemporal(b)
	h := &hookBench{log: newHookLog(), backend: "sqlite"}
	dbURL := testenv.SQLiteURL(b)
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dbURL, h.backend = testenv.PostgresURL(b), "postgres"
	}
	h.fake = circlecitest.NewServer(circlecitest.Options{Seed: 11, Projects: 3, PipelinesPerProject: 30,
		Now: time.Now().UTC().Truncate(time.Second), Token: newToken(), AllowHTTPWebhooks: true,
		Faults:   circlecitest.Faults{Latency: hookLatency},
		Webhooks: circlecitest.WebhookOptions{RetryBase: time.Second, MaxRetries: 8, Parallel: 8}})
	b.Cleanup(h.fake.Close)
	tokenEnv := newEnvName("TOKEN")
	b.Setenv(tokenEnv, h.fake.Token())
	tq := newID("bench-hooks")
	startWorker(b, tsrv, tq, dbURL)
	h.ins = connectionInputs(h.fake, newID("hooks"), tokenEnv)
	if _, errs := (&syncer{c: tsrv.Client(), taskQueue: tq}).runAll(h.ins); errorsIn(errs) != nil {
		b.Fatalf("full sync: %v", errorsIn(errs))
	}
	h.proxy = testenv.StartTCPProxy(b, tsrv.FrontendHostPort())
	c, err := client.Dial(client.Options{HostPort: h.proxy.Addr(), Namespace: "default"})
	if err != nil {
		b.Fatalf("receiver's Temporal client: %v", err)
	}
	b.Cleanup(c.Close)
	const secret = "bench-webhook-secret"
	conns := receiver.Connections{}
	for _, in := range h.ins {
		conns[in.ConnectionID] = in
	}
	hd := receiver.NewHandler(conns, receiver.Options{Secrets: receiver.Secrets{Global: secret},
		Handoff: receiver.Temporal{Client: c, TaskQueue: tq}})
	srv := httptest.NewServer(h.log.wrap(receiver.NewMux(hd, false)))
	b.Cleanup(srv.Close)
	h.url, h.secret = srv.URL+receiver.RoutePrefix, secret
	h.register(b)
	if h.db, err = openDB(dbURL); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.db.Close() })
	fmt.Printf("webhooks: %s, fake at %s per request, %d projects, receiver's Temporal through a TCP proxy\n",
		h.backend, hookLatency, len(h.fake.Expected(h.fake.Token()).Projects))
	return h
}

// errorsIn returns the first non-nil error.
func errorsIn(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// register creates each project's webhook to its connection's route.
func (h *hookBench) register(b *testing.B) {
	c, err := circleci.New(circleci.Options{BaseURL: h.fake.URL, Token: h.fake.Token()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range h.fake.Expected(h.fake.Token()).Projects {
		_, err := c.CreateWebhook(ctx, circleci.NewWebhook{Name: "bench", Events: []string{"workflow-completed", "job-completed"},
			URL: h.url + h.connectionOf(p.Slug), SigningSecret: h.secret,
			Scope: circleci.WebhookScope{ID: p.ID, Type: "project"}})
		if err != nil {
			b.Fatalf("register the webhook of %s: %v", p.Slug, err)
		}
	}
}

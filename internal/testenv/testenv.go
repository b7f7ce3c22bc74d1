// Package testenv gives integration tests the real services they run against: a
// Temporal dev server, a fresh PostgreSQL schema, a SQLite file, a TCP proxy.
// A missing dependency skips the test, or fails it under CI=true.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
)

// TemporalCLIVersion is the Temporal CLI version the tests and `make run` use; newer
// versions cannot be installed from the Go module proxy.
const TemporalCLIVersion = "v1.5.1"

// Missing skips t, or fails it under CI=true, because a dependency is missing.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and a test dependency is missing: "+format, args...)
	}
	t.Skipf("test dependency missing: "+format, args...)
}

// TemporalCLI returns the path of the Temporal CLI: $TEMPORAL_CLI, else
// ~/.cache/circleci-sync/bin/temporal (`make tools`), else `temporal` on the PATH.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("TEMPORAL_CLI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			Missing(t, "TEMPORAL_CLI=%s: %v", p, err)
		}
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "circleci-sync", "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p
	}
	Missing(t, "the Temporal CLI is not installed: run `make tools` (go install github.com/temporalio/cli/cmd/temporal@%s)", TemporalCLIVersion)
	return ""
}

// DevServerOptions tune StartTemporal.
type DevServerOptions struct {
	DBFilename string // the server's state file, so that a test can restart it; empty: in memory
	HostPort   string // of the frontend; empty: a free port
	EnableUI   bool   // serve the Web UI, on UIPort or the frontend port + 1000
	UIPort     string
	ExtraArgs  []string // appended to `temporal server start-dev`
	// NoFairness leaves the task queues FIFO (the server's default): without
	// it, FairnessArgs turn priority and fairness on.
	NoFairness bool
}

// FairnessArgs turn on the priority and fairness matcher (off by default in
// server 1.29), so that the syncs' priority and fairness keys count.
var FairnessArgs = []string{"--dynamic-config-value", "matching.useNewMatcher=true",
	"--dynamic-config-value", "matching.enableFairness=true"}

// EagerArgs turn on eager activity execution (off by default in server 1.29):
// a workflow task's new activities go back to its worker with the task's
// answer, when it has free slots, instead of through the task queue's poll (a
// first sync's project starts about 0.1 s sooner; docs/operations.md).
var EagerArgs = []string{"--dynamic-config-value", "system.enableActivityEagerExecution=true"}

// StartTemporal starts a Temporal dev server for t and stops it when t ends.
func StartTemporal(t testing.TB, opts DevServerOptions) *testsuite.DevServer {
	t.Helper()
	path := TemporalCLI(t)
	// Search attributes a worker adds are usable at once; activities go
	// eagerly (EagerArgs).
	args := append([]string{"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=true"}, EagerArgs...)
	if !opts.NoFairness {
		args = append(args, FairnessArgs...)
	}
	srv, err := testsuite.StartDevServer(context.Background(), testsuite.DevServerOptions{
		ExistingPath:  path,
		ClientOptions: &client.Options{HostPort: opts.HostPort, Namespace: "default"},
		DBFilename:    opts.DBFilename,
		EnableUI:      opts.EnableUI,
		UIPort:        opts.UIPort,
		LogLevel:      "error",
		ExtraArgs:     append(args, opts.ExtraArgs...),
		Stdout:        testWriter{t},
		Stderr:        testWriter{t},
	})
	if err != nil {
		t.Fatalf("start the Temporal dev server (%s): %v", path, err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// testWriter sends a process's output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// PostgresURL returns the URL of a fresh, empty schema in TEST_DATABASE_URL's
// database, dropped when t ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		Missing(t, "TEST_DATABASE_URL is empty: PostgreSQL is not tested")
	}
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLiteURL returns the URL of a new SQLite file in t's temporary directory.
func SQLiteURL(t testing.TB) string {
	return "sqlite://" + filepath.Join(t.TempDir(), "circleci-sync.db")
}

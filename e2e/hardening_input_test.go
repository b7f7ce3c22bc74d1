package e2e

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/circleci-sync/circleci-sync/activities"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestOversizedResyncUpdateKeepsTheSyncAlive sends a running continuous sync
// resync Updates of 2.1 MB, through the worker command (whose client shrinks
// the rejection the SDK would send back whole). The server terminated the
// workflow when a rejection above its 2 MB blob limit reached it (4 of 4 runs).
func TestOversizedResyncUpdateKeepsTheSyncAlive(t *testing.T) {
	tsrv := startTemporal(t)
	fake := startFake(t, datasetOptions(5))
	tokenEnv := newEnvName("TOKEN")
	tq := newID("e2e-bigupdate")
	startWorkerProcess(t, buildWorker(t), []string{
		"TEMPORAL_ADDRESS=" + tsrv.FrontendHostPort(), "TEMPORAL_NAMESPACE=default",
		syncworker.EnvDatabaseURL + "=" + testenv.SQLiteURL(t), syncworker.EnvAllowedBaseURLs + "=*",
		syncworker.EnvTaskQueue + "=" + tq, syncworker.EnvLogFormat + "=json", tokenEnv + "=" + fake.Token(),
	})
	c := tsrv.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in := connectionInputs(fake, newID("bigupdate"), tokenEnv)[0]
	in.Continuous = true
	id := workflows.ConnectionWorkflowID(in.ConnectionID)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq}, workflows.ConnectionSyncName, in)
	require.NoError(t, err)

	big := strings.Repeat("a", 2_100_000)
	for i := range 6 {
		// A long reason; then a short one beside an unknown field, which the
		// validator passed and the SDK copied whole into the Acceptance.
		var err error
		want := "resync reason is 2100000 bytes"
		if i%2 == 0 {
			_, err = resyncUpdate(ctx, c, id, big)
		} else {
			var h client.WorkflowUpdateHandle
			h, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: workflows.ResyncUpdate,
				Args: []any{map[string]string{"reason": "junk", "junk": big}}, WaitForStage: client.WorkflowUpdateStageCompleted})
			if err == nil {
				err = h.Get(ctx, nil)
			}
			want = "resync request is 2100027 bytes"
		}
		var app *temporal.ApplicationError
		require.True(t, errors.As(err, &app), "attempt %d: want the validator's refusal, got %v", i+1, err)
		require.Equal(t, activities.ErrInvalidInput, app.Type())
		require.Contains(t, app.Message(), want)
		time.Sleep(2 * time.Second)
	}
	desc, err := c.DescribeWorkflow(ctx, id, run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.RawResponse.GetWorkflowExecutionInfo().GetStatus(),
		"the oversized Updates left the sync running")
	res, err := resyncUpdate(ctx, c, id, "after the flood")
	require.NoError(t, err, "a valid request is still served")
	require.Positive(t, res.Cycle)
}

// TestRefusedInputIsNeverEchoed starts syncs with a token pasted into
// token_env (CircleCI's CCIPAT_ and legacy 40-hex shapes both look like
// variable names), a 100 KB connection_id and a 1 MB org_slug. Each fails
// with invalid_input; the token appears in history only in the input its
// starter sent, never in a failure or the worker's log, and no failure
// quotes the oversized values.
func TestRefusedInputIsNeverEchoed(t *testing.T) {
	tsrv := startTemporal(t)
	fake := startFake(t, datasetOptions(6))
	tq := newID("e2e-echo")
	logs := startWorker(t, tsrv, tq, testenv.SQLiteURL(t))
	c := tsrv.Client()
	base := map[string]any{"org_slug": "gh/acme", "base_url": fake.URL}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"connection_id": newID("echo")}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	pat := "CCIPAT_LEAKME7Hs9aQ2_" + randomHex(20)
	hex40 := "deadbeef" + randomHex(16)
	cases := []struct {
		name   string
		input  map[string]any
		secret string
	}{
		{"personal token in token_env", with("token_env", pat), pat},
		{"legacy token in token_env", with("token_env", hex40), hex40},
		{"100 KB connection_id", with("connection_id", "c"+strings.Repeat("x", 100_000)), strings.Repeat("x", 200)},
		{"1 MB org_slug", with("org_slug", "gh/"+strings.Repeat("o", 1<<20)), strings.Repeat("o", 200)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			id := workflows.ConnectionWorkflowID(newID("echo"))
			run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: tq},
				workflows.ConnectionSyncName, tc.input)
			require.NoError(t, err)
			err = run.Get(ctx, nil)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "want invalid_input, got %v", err)
			require.Equal(t, activities.ErrInvalidInput, app.Type())
			require.Less(t, len(app.Message()), 1000, "the refused value is not echoed")
			require.NotContains(t, app.Message(), tc.secret)

			found := 0
			it := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				require.NoError(t, err)
				if strings.Contains(prototext.Format(ev), tc.secret) {
					require.NotNil(t, ev.GetWorkflowExecutionStartedEventAttributes(),
						"the value is in event %d (%s), beyond the input it came in", ev.GetEventId(), ev.GetEventType())
					found++
				}
				require.NotEqual(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED, ev.GetEventType())
			}
			require.Equal(t, 1, found, "the value is in the start event's input only")
			require.NotContains(t, logs.String(), tc.secret, "the worker log never holds the value")
		})
	}
}

// TestDatabasePermissionErrorIsNotRetried runs a sync whose worker's
// PostgreSQL role may read the tables but not write them: the sync fails at
// once with store_permission and its advice. It was a store_error retried
// for six hours, each attempt sending the verification requests again.
// (SQLite: a read-only file stops the worker at start; IsPermissionDenied on a
// read-only SQLite write is tested in package store.)
func TestDatabasePermissionErrorIsNotRetried(t *testing.T) {
	tsrv := startTemporal(t)
	fake := startFake(t, datasetOptions(7))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	adminURL := testenv.PostgresURL(t)
	st, err := store.Open(ctx, adminURL)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	roleURL := readOnlyRole(t, adminURL)

	tq := newID("e2e-perm")
	tokenEnv := newEnvName("TOKEN")
	t.Setenv(tokenEnv, fake.Token())
	startWorker(t, tsrv, tq, roleURL)
	s := &syncer{c: tsrv.Client(), taskQueue: tq}
	in := connectionInputs(fake, newID("perm"), tokenEnv)[0]
	start := time.Now()
	_, err = s.run(ctx, in)
	require.Error(t, err)
	require.Contains(t, err.Error(), activities.ErrStorePermission, "%v", err)
	require.Contains(t, err.Error(), "grant its role")
	require.Less(t, time.Since(start), time.Minute, "failed at once, not retried")
}

// readOnlyRole creates a role that may use databaseURL's schema (and create in
// it, as the worker's migrations check) and read its tables, but not write
// them; it returns databaseURL as that role.
func readOnlyRole(t *testing.T, databaseURL string) string {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, databaseURL)
	require.NoError(t, err)
	u, err := url.Parse(databaseURL)
	require.NoError(t, err)
	schema := pgx.Identifier{u.Query().Get("search_path")}.Sanitize()
	role := "e2e_ro_" + randomHex(4)
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN", "GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT ON ALL TABLES IN SCHEMA " + schema + " TO " + role} {
		_, err := admin.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	t.Cleanup(func() {
		_, err := admin.Exec(ctx, "DROP OWNED BY "+role)
		require.NoError(t, err)
		_, err = admin.Exec(ctx, "DROP ROLE "+role)
		require.NoError(t, err)
		require.NoError(t, admin.Close(ctx))
	})
	u.User = url.User(role)
	return u.String()
}

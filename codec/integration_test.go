package codec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

const (
	itTaskQueue       = "codec-integration"
	itSearchAttribute = "CodecTestKeyword"
	itToken           = "codec-it-token"
)

// itActivities are the integration test's activities; Echo heartbeats, then
// waits for release so that the test can read its pending heartbeat.
type itActivities struct{ release chan struct{} }

// Echo heartbeats "progress <s>" and returns "echo <s>" once released.
func (a *itActivities) Echo(ctx context.Context, s string) (string, error) {
	activity.RecordHeartbeat(ctx, "progress "+s)
	select {
	case <-a.release:
		return "echo " + s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Fail fails for good with a message and details holding s.
func (a *itActivities) Fail(_ context.Context, s string) error {
	return temporal.NewNonRetryableApplicationError("cannot sync "+s, "CodecTestFailure", nil, "detail "+s)
}

// itEcho runs Echo (with an activity summary holding s).
func itEcho(ctx workflow.Context, s string) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		Summary:             "summary " + s,
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "Echo", s).Get(ctx, &out)
	return out, err
}

// itFail runs Fail once and fails with its error.
func itFail(ctx workflow.Context, s string) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return workflow.ExecuteActivity(ctx, "Fail", s).Get(ctx, nil)
}

// TestIntegrationDevServer runs workflows through a real dev server with the
// codec on, checks that no plaintext reaches the history, and that the
// Temporal CLI (--codec-endpoint, --codec-auth) decodes through the handler
// and the Web UI advertises it (--ui-codec-endpoint).
func TestIntegrationDevServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	marker := "plaintext-marker-" + randomHex(t)
	saValue := "visible-" + randomHex(t)
	c := newCodec(t, testKey(t, "it-2026"))

	open := httptest.NewServer(NewHTTPHandler(c, HandlerOptions{Namespaces: []string{"default"}}))
	t.Cleanup(open.Close)
	refused := &atomic.Int32{}
	guarded := httptest.NewServer(countUnauthorized(NewHTTPHandler(c, HandlerOptions{AuthToken: itToken}), refused))
	t.Cleanup(guarded.Close)

	uiPort := freePort(t)
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{
		EnableUI: true,
		UIPort:   uiPort,
		ExtraArgs: []string{
			"--ui-codec-endpoint", open.URL,
			"--search-attribute", itSearchAttribute + "=Keyword",
		},
	})

	logs := &testenv.Buffer{}
	opts := client.Options{
		HostPort:  srv.FrontendHostPort(),
		Namespace: "default",
		Logger:    log.NewStructuredLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))),
	}
	Apply(&opts, c)
	cl, err := client.Dial(opts)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("SDK log:\n%s", logs.String())
		}
	})

	acts := &itActivities{release: make(chan struct{})}
	w := worker.New(cl, itTaskQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(itEcho, workflow.RegisterOptions{Name: "CodecEcho"})
	w.RegisterWorkflowWithOptions(itFail, workflow.RegisterOptions{Name: "CodecFail"})
	w.RegisterActivity(acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	// The echo workflow, with memo, static summary and details, and a search
	// attribute.
	sa := temporal.NewSearchAttributeKeyKeyword(itSearchAttribute)
	echoRun, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "codec-it-echo",
		TaskQueue:             itTaskQueue,
		Memo:                  map[string]any{"note": "memo " + marker},
		StaticSummary:         "static summary " + marker,
		StaticDetails:         "static details " + marker,
		TypedSearchAttributes: temporal.NewSearchAttributes(sa.ValueSet(saValue)),
	}, "CodecEcho", marker)
	require.NoError(t, err)

	// Its pending activity's heartbeat is stored encrypted.
	heartbeat := pendingHeartbeat(ctx, t, cl, echoRun.GetID())
	require.Len(t, heartbeat.GetPayloads(), 1)
	require.Equal(t, MetadataEncodingEncrypted, string(heartbeat.Payloads[0].Metadata["encoding"]))
	requireNoMarker(t, heartbeat, marker)
	var progress string
	require.NoError(t, opts.DataConverter.FromPayloads(heartbeat, &progress))
	require.Equal(t, "progress "+marker, progress)
	close(acts.release)

	var echoed string
	require.NoError(t, echoRun.Get(ctx, &echoed))
	require.Equal(t, "echo "+marker, echoed)
	desc, err := cl.DescribeWorkflow(ctx, echoRun.GetID(), "")
	require.NoError(t, err)
	summary, err := desc.GetStaticSummary()
	require.NoError(t, err)
	require.Equal(t, "static summary "+marker, summary, "the client decodes user metadata")
	var memo string
	require.NoError(t, desc.GetMemoValue("note", &memo))
	require.Equal(t, "memo "+marker, memo)

	// The failing workflow: the client reads the message and details back.
	failRun, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-it-fail", TaskQueue: itTaskQueue}, "CodecFail", marker)
	require.NoError(t, err)
	err = failRun.Get(ctx, nil)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, "cannot sync "+marker, appErr.Message())
	require.Equal(t, "CodecTestFailure", appErr.Type())
	var detail string
	require.NoError(t, appErr.Details(&detail))
	require.Equal(t, "detail "+marker, detail)

	// No history event holds the marker, in JSON or in proto binary.
	echoEvents := history(ctx, t, cl, echoRun.GetID())
	failEvents := history(ctx, t, cl, failRun.GetID())
	for _, ev := range append(append([]*historypb.HistoryEvent(nil), echoEvents...), failEvents...) {
		requireNoMarker(t, ev, marker)
	}
	// ... yet the history is read raw: payloads are sealed, search attributes plain.
	started := echoEvents[0].GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, started)
	for _, p := range []*commonpb.Payload{
		started.GetInput().GetPayloads()[0], started.GetMemo().GetFields()["note"],
		echoEvents[0].GetUserMetadata().GetSummary(), echoEvents[0].GetUserMetadata().GetDetails(),
	} {
		require.Equal(t, MetadataEncodingEncrypted, string(p.GetMetadata()["encoding"]))
		require.Equal(t, "it-2026", string(p.GetMetadata()[MetadataKeyID]))
	}
	saPayload := started.GetSearchAttributes().GetIndexedFields()[itSearchAttribute]
	require.Equal(t, "json/plain", string(saPayload.GetMetadata()["encoding"]), "search attributes stay plaintext")
	require.Contains(t, string(saPayload.GetData()), saValue)
	wire, err := proto.Marshal(echoEvents[0])
	require.NoError(t, err)
	require.True(t, bytes.Contains(wire, []byte(saValue)), "the scan sees plaintext where there is some")
	failed := failEvents[len(failEvents)-1].GetWorkflowExecutionFailedEventAttributes()
	require.NotNil(t, failed)
	require.Equal(t, "Encoded failure", failed.GetFailure().GetMessage())
	require.Equal(t, "CodecTestFailure", failed.GetFailure().GetCause().GetApplicationFailureInfo().GetType())
	// Visibility still finds the workflow by its search attribute.
	requireListed(ctx, t, cl, itSearchAttribute+` = "`+saValue+`"`, echoRun.GetID())

	// The CLI decodes through the codec server, and only through it.
	cli := testenv.TemporalCLI(t)
	show := func(id string, extra ...string) (*historypb.History, string, error) {
		args := append([]string{"workflow", "show", "--workflow-id", id, "--address", srv.FrontendHostPort(),
			"--namespace", "default", "-o", "json"}, extra...)
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, cli, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, stdout.String() + stderr.String(), err
		}
		var h historypb.History
		require.NoError(t, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(stdout.Bytes(), &h), stdout.String())
		require.NotEmpty(t, h.GetEvents())
		return &h, stdout.String(), nil
	}
	h, out, err := show(echoRun.GetID())
	require.NoError(t, err, out)
	requireNoMarker(t, h, marker)
	require.Equal(t, MetadataEncodingEncrypted, string(h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()[0].GetMetadata()["encoding"]))

	// The CLI shows payload data in base64, so look for the marker in the
	// parsed history's payloads.
	for _, id := range []string{echoRun.GetID(), failRun.GetID()} {
		h, out, err = show(id, "--codec-endpoint", open.URL+"/{namespace}")
		require.NoError(t, err, out)
		wire, err := proto.Marshal(h)
		require.NoError(t, err)
		require.True(t, bytes.Contains(wire, []byte(marker)), "%s decoded by the CLI: %s", id, out)
		require.NotContains(t, string(wire), MetadataEncodingEncrypted)
	}
	h, out, err = show(failRun.GetID(), "--codec-endpoint", guarded.URL, "--codec-auth", "Bearer "+itToken)
	require.NoError(t, err, out)
	wire, err = proto.Marshal(h)
	require.NoError(t, err)
	require.True(t, bytes.Contains(wire, []byte("cannot sync "+marker)), "the failure message decoded: %s", out)
	require.Zero(t, refused.Load())
	// Without the token the codec server refuses (and the CLI retries until its
	// command timeout).
	_, out, err = show(failRun.GetID(), "--codec-endpoint", guarded.URL, "--command-timeout", "2s")
	require.Error(t, err, "no token: %s", out)
	require.NotContains(t, out, marker)
	require.NotZero(t, refused.Load(), "the codec server saw the CLI's requests and refused them")

	// The Web UI advertises the codec endpoint.
	require.Equal(t, open.URL, uiCodecEndpoint(ctx, t, "http://127.0.0.1:"+uiPort+"/api/v1/settings"))
}

// countUnauthorized counts into n the requests h answers 401.
func countUnauthorized(h http.Handler, n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == http.StatusUnauthorized {
			n.Add(1)
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
}

// randomHex returns 8 random bytes in hex.
func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	_, port, err := net.SplitHostPort(l.Addr().String())
	require.NoError(t, err)
	return port
}

// requireNoMarker fails t if m, in protojson or in proto binary, holds marker.
func requireNoMarker(t *testing.T, m proto.Message, marker string) {
	t.Helper()
	j, err := protojson.Marshal(m)
	require.NoError(t, err)
	require.NotContains(t, string(j), marker)
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	require.False(t, bytes.Contains(b, []byte(marker)), "plaintext in %s", j)
}

// pendingHeartbeat waits until the workflow's pending activity has heartbeat
// details and returns them, as stored.
func pendingHeartbeat(ctx context.Context, t *testing.T, cl client.Client, id string) *commonpb.Payloads {
	t.Helper()
	for {
		resp, err := cl.WorkflowService().DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
			Namespace: "default",
			Execution: &commonpb.WorkflowExecution{WorkflowId: id},
		})
		require.NoError(t, err)
		for _, pa := range resp.GetPendingActivities() {
			if pa.GetHeartbeatDetails() != nil {
				return pa.GetHeartbeatDetails()
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no heartbeat recorded for %s: %v", id, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// history returns the workflow's whole history, as stored.
func history(ctx context.Context, t *testing.T, cl client.Client, id string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := cl.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events = append(events, ev)
	}
	require.NotEmpty(t, events)
	return events
}

// requireListed waits until visibility lists workflow id for query.
func requireListed(ctx context.Context, t *testing.T, cl client.Client, query, id string) {
	t.Helper()
	for {
		resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query})
		require.NoError(t, err)
		for _, e := range resp.GetExecutions() {
			if e.GetExecution().GetWorkflowId() == id {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("visibility never listed %s for %s: %v", id, query, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// uiCodecEndpoint waits for the Web UI at url to answer and returns the codec
// endpoint its settings advertise.
func uiCodecEndpoint(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var settings struct {
				Codec struct{ Endpoint string }
			}
			derr := json.NewDecoder(resp.Body).Decode(&settings)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NoError(t, derr)
			return settings.Codec.Endpoint
		}
		if ctx.Err() != nil || !isConnRefused(err) {
			t.Fatalf("GET %s: %v", url, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isConnRefused reports whether err is a refused connection (the UI not up yet).
func isConnRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && strings.Contains(op.Err.Error(), "refused")
}

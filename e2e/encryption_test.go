package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/circleci-sync/circleci-sync/codec"
	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// TestEncryptedSync syncs a connection with payload encryption on (the worker's
// keys, its codec server): the tables are complete; no event of any history
// holds the sync's input, heartbeat or result data in plaintext (the base URL,
// the token's variable name, the project figures: they are only in payloads),
// while the plaintext parts (workflow IDs, search attributes) are found, which
// shows the scan works; the Temporal CLI decodes the histories through the
// worker's codec server; and the Web UI is told the codec endpoint and may call
// it from its origin (CORS), getting the plaintext back.
func TestEncryptedSync(t *testing.T) {
	keyLine, err := codec.NewKeyLine("e2e-1")
	require.NoError(t, err)
	keys, err := codec.ParseKeys(keyLine)
	require.NoError(t, err)
	cdc, err := codec.New(keys)
	require.NoError(t, err)
	codecAddr := freeAddr(t)
	codecURL := "http://" + codecAddr
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	uiPort := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	require.NoError(t, ln.Close())
	uiOrigin := "http://localhost:" + uiPort
	tsrv := testenv.StartTemporal(t, testenv.DevServerOptions{EnableUI: true, UIPort: uiPort,
		ExtraArgs: []string{"--ui-codec-endpoint", codecURL}})

	dbURL := backends[0].url(t)
	fake := startFake(t, datasetOptions(13))
	token := fake.Token()
	tokenEnv := newEnvName("SECRET_TOKEN")
	t.Setenv(tokenEnv, token)
	tq := newID("e2e-codec")
	logs := startWorker(t, tsrv, tq, dbURL, func(cfg *syncworker.Config) {
		cfg.Codec = cdc
		cfg.CodecServer = codec.ServerConfig{Addr: codecAddr,
			Handler: codec.HandlerOptions{AllowedOrigins: []string{uiOrigin}}}
	})
	opts := client.Options{HostPort: tsrv.FrontendHostPort(), Namespace: "default"}
	codec.Apply(&opts, cdc)
	c, err := client.Dial(opts)
	require.NoError(t, err)
	defer c.Close()
	s := &syncer{c: c, taskQueue: tq}
	prefix := newID("codec")
	ins := connectionInputs(fake, prefix, tokenEnv)[:1]
	ex := filterExpected(fake.Expected(token), projectsOf(fake.Expected(token), ins[0].OrgSlug)...)
	results := s.syncAll(t, ins)
	logResults(t, "encrypted", ins, results)
	requireTablesEqual(t, dbURL, ex)
	connID := workflows.ConnectionWorkflowID(ins[0].ConnectionID)

	// What only payloads hold, and what is plaintext by design.
	figures := fmt.Sprintf(`"pipelines":%d`, results[0].Totals.Of(store.KindPipeline))
	secret := []string{fake.URL, tokenEnv, token, figures}
	plain := []string{ins[0].ConnectionID, ex.Projects[0].Slug}
	st, hits, err := scanHistories(tsrv.Client(), s.allRuns(), append(secret, plain...))
	require.NoError(t, err)
	for _, n := range secret {
		require.Empty(t, hits[n], "%q is in plaintext in the histories", n)
	}
	for _, n := range plain {
		require.NotEmpty(t, hits[n], "positive control: the scan finds the plaintext %q (workflow IDs, search attributes)", n)
	}
	t.Logf("histories: %d workflows, %d events; none holds %d payload-only markers in plaintext", len(st.Runs), st.Events,
		len(secret))
	first := firstPayload(t, tsrv.Client(), connID)
	require.Equal(t, codec.MetadataEncodingEncrypted, string(first.GetMetadata()["encoding"]))
	require.Equal(t, "e2e-1", string(first.GetMetadata()[codec.MetadataKeyID]))

	requireCLIDecodes(t, tsrv.FrontendHostPort(), connID, codecURL, fake.URL)
	requireUIDecodes(t, uiPort, uiOrigin, codecURL, first, fake.URL)

	requireNoSecretInLogs(t, map[string]string{"worker": logs.String()}, prefix, token)
}

// requireCLIDecodes checks that `temporal workflow show` of workflow connID
// sees fakeURL (in the input) only through the codec server at codecURL.
func requireCLIDecodes(t *testing.T, hostPort, connID, codecURL, fakeURL string) {
	t.Helper()
	show := func(extra ...string) []byte {
		args := append([]string{"workflow", "show", "--workflow-id", connID, "--address", hostPort,
			"--namespace", "default", "-o", "json"}, extra...)
		cmd := exec.Command(testenv.TemporalCLI(t), args...)
		cmd.Env = append(os.Environ(), "TEMPORAL_CONFIG_FILE="+filepath.Join(t.TempDir(), "none.toml"))
		out, err := cmd.Output()
		require.NoError(t, err, "temporal %s", strings.Join(args, " "))
		var h historypb.History
		require.NoError(t, protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(out, &h))
		wire, err := proto.Marshal(&h)
		require.NoError(t, err)
		return wire
	}
	require.False(t, bytes.Contains(show(), []byte(fakeURL)), "without the codec the CLI sees ciphertext")
	require.True(t, bytes.Contains(show("--codec-endpoint", codecURL+"/{namespace}"), []byte(fakeURL)),
		"the CLI decodes the input through the codec server")
}

// requireUIDecodes checks that the Web UI on uiPort is told the codec
// endpoint, and that its origin may call it to decode payload first (which
// holds fakeURL).
func requireUIDecodes(t *testing.T, uiPort, uiOrigin, codecURL string, first *commonpb.Payload, fakeURL string) {
	t.Helper()
	settings := httpGet(t, "http://127.0.0.1:"+uiPort+"/api/v1/settings")
	var cfg struct{ Codec struct{ Endpoint string } }
	require.NoError(t, json.Unmarshal(settings, &cfg), "%s", settings)
	require.Equal(t, codecURL, cfg.Codec.Endpoint)
	pre, err := http.NewRequest(http.MethodOptions, codecURL+"/decode", nil)
	require.NoError(t, err)
	pre.Header.Set("Origin", uiOrigin)
	pre.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(pre)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{first}})
	require.NoError(t, err)
	dec, err := http.NewRequest(http.MethodPost, codecURL+"/decode", bytes.NewReader(body))
	require.NoError(t, err)
	dec.Header.Set("Origin", uiOrigin)
	dec.Header.Set("Content-Type", "application/json")
	dec.Header.Set("X-Namespace", "default")
	resp, err = http.DefaultClient.Do(dec)
	require.NoError(t, err)
	out, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", out)
	var decoded commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(out, &decoded))
	require.Len(t, decoded.GetPayloads(), 1)
	require.Contains(t, string(decoded.GetPayloads()[0].GetData()), fakeURL, "the UI gets the plaintext input")
}

// firstPayload returns the input payload of workflow id's first event.
func firstPayload(t *testing.T, c client.Client, id string) *commonpb.Payload {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	ev, err := it.Next()
	require.NoError(t, err)
	ps := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	require.Len(t, ps, 1)
	return ps[0]
}

// httpGet returns the body of a GET of u, which must answer 200.
func httpGet(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", u, b)
	return b
}

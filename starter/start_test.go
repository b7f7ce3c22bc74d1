package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// startedInput returns the raw JSON input of a workflow run's first event.
func startedInput(t *testing.T, c client.Client, id, runID string) []byte {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	ev, err := it.Next()
	require.NoError(t, err)
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	require.NotNil(t, attrs, "first event is %s", ev.GetEventType())
	payloads := attrs.GetInput().GetPayloads()
	require.Len(t, payloads, 1, "one input argument")
	require.Equal(t, "json/plain", string(payloads[0].GetMetadata()["encoding"]))
	return payloads[0].GetData()
}

// outputValues parses the KEY=VALUE lines the starter prints.
func outputValues(out string) map[string]string {
	v := map[string]string{}
	for line := range strings.Lines(out) {
		if k, val, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.ContainsAny(k, " {\"") {
			v[k] = val
		}
	}
	return v
}

func TestStartSync(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c := srv.Client()
	ctx := context.Background()

	fl := startFlags{
		connection: "acme", org: "gh/acme", baseURL: "https://circleci.example.com", tokenEnv: "ACME_CIRCLECI_TOKEN",
		projects: " gh/acme/api, gh/acme/web ,", since: "2026-01-01", maxConcurrentProjects: 3,
	}
	require.NoError(t, fl.overlap.Set("90m"))
	require.NoError(t, fl.rerunWindow.Set("48h"))
	cfg := startConfig{Input: fl.input(), TaskQueue: "circleci-sync-test", Namespace: "default", UIURL: "http://ui.example:8233/"}

	var out, errOut bytes.Buffer
	require.NoError(t, startSync(ctx, c, cfg, time.Minute, &out, &errOut), errOut.String())
	vals := outputValues(out.String())
	require.Equal(t, "circleci-sync/acme", vals["workflow_id"])
	runID := vals["run_id"]
	require.NotEmpty(t, runID)
	require.Equal(t, "http://ui.example:8233/namespaces/default/workflows/circleci-sync%2Facme/"+runID+"/history", vals["web_ui"])

	desc, err := c.DescribeWorkflow(ctx, "circleci-sync/acme", runID)
	require.NoError(t, err)
	require.Equal(t, workflows.ConnectionSyncName, desc.WorkflowType.Name)
	require.Equal(t, "circleci-sync-test", desc.TaskQueueName)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.Status)
	summary, err := desc.GetStaticSummary()
	require.NoError(t, err)
	require.Equal(t, "CircleCI sync of gh/acme (connection acme)", summary)

	raw := startedInput(t, c, "circleci-sync/acme", runID)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	require.Equal(t, map[string]any{
		"connection_id":           "acme",
		"org_slug":                "gh/acme",
		"base_url":                "https://circleci.example.com",
		"projects":                []any{"gh/acme/api", "gh/acme/web"},
		"token_env":               "ACME_CIRCLECI_TOKEN",
		"since":                   "2026-01-01",
		"max_concurrent_projects": float64(3),
		"overlap":                 "1h30m",
		"rerun_window":            "48h",
	}, fields)
	var in workflows.ConnectionSyncInput
	require.NoError(t, json.Unmarshal(raw, &in))
	require.NoError(t, in.Validate())

	// Starting the connection again while its sync runs attaches to that sync.
	out.Reset()
	errOut.Reset()
	cfg.Input.OrgSlug = "gh/other"
	require.NoError(t, startSync(ctx, c, cfg, time.Minute, &out, &errOut))
	require.Equal(t, runID, outputValues(out.String())["run_id"])
	require.Contains(t, errOut.String(), "already running")
}

// TestStartCommand runs the command line, with the Temporal connection from the
// environment as a user would configure it.
func TestStartCommand(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	t.Setenv("TEMPORAL_ADDRESS", srv.FrontendHostPort())
	t.Setenv("TEMPORAL_NAMESPACE", "default")
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	t.Setenv("TEMPORAL_PROFILE", "")
	t.Setenv("TEMPORAL_UI_URL", "")
	t.Setenv("CIRCLECI_BASE_URL", "")
	t.Setenv("CIRCLECI_ORG", "")

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-connection", "demo.1", "-org", "circleci/p2LHNni7PdzsZnERyoVwYH"}, &out, &errOut)
	require.NoError(t, err, errOut.String())
	vals := outputValues(out.String())
	require.Equal(t, "circleci-sync/demo.1", vals["workflow_id"])
	require.Equal(t, "http://localhost:8233/namespaces/default/workflows/circleci-sync%2Fdemo.1/"+vals["run_id"]+"/history", vals["web_ui"])

	desc, err := srv.Client().DescribeWorkflow(context.Background(), "circleci-sync/demo.1", "")
	require.NoError(t, err)
	require.Equal(t, workflows.DefaultTaskQueue, desc.TaskQueueName)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(startedInput(t, srv.Client(), "circleci-sync/demo.1", vals["run_id"]), &fields))
	require.Equal(t, map[string]any{
		"connection_id": "demo.1", "org_slug": "circleci/p2LHNni7PdzsZnERyoVwYH",
		"base_url": "https://circleci.com", "token_env": "CIRCLECI_TOKEN",
	}, fields)
}

// readmeStartCommand returns the arguments of the README's
// `temporal workflow start --type ConnectionSync …` command, after "temporal".
func readmeStartCommand(t *testing.T) []string {
	return readmeCommand(t, "temporal workflow start --type ConnectionSync")
}

// readmeCommand returns the arguments, after "temporal", of the README's first
// command line that starts with prefix (continued over lines ending in \).
func readmeCommand(t *testing.T, prefix string) []string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	lines := strings.Split(string(readme), "\n")
	for i, line := range lines {
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		cmd := line
		for strings.HasSuffix(cmd, `\`) && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, `\`) + " " + strings.TrimSpace(lines[i])
		}
		words, err := shellWords(cmd)
		require.NoError(t, err, cmd)
		return words[1:]
	}
	t.Fatalf("the README has no `%s` command", prefix)
	return nil
}

// shellWords splits a command line as a POSIX shell would, for the quoting a
// README uses: single quotes, double quotes without escapes, and blanks.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; ch {
		case ' ', '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			end := strings.IndexByte(s[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c quote", ch)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestREADMETemporalCLIStart runs the README's `temporal workflow start` command
// with the Temporal CLI: it starts the same workflow type, ID and task queue as
// the starter, with an input that ConnectionSync accepts.
func TestREADMETemporalCLIStart(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	args := readmeStartCommand(t)
	cmd := exec.Command(testenv.TemporalCLI(t), append(args, "--address", srv.FrontendHostPort(), "--namespace", "default")...)
	cmd.Env = append(os.Environ(), "TEMPORAL_CONFIG_FILE="+t.TempDir()+"/none.toml")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "temporal %s\n%s", strings.Join(args, " "), out)

	var workflowID string
	for i, a := range args {
		if a == "--workflow-id" && i+1 < len(args) {
			workflowID = args[i+1]
		}
	}
	desc, err := srv.Client().DescribeWorkflow(context.Background(), workflowID, "")
	require.NoError(t, err)
	require.Equal(t, workflows.ConnectionSyncName, desc.WorkflowType.Name)
	require.Equal(t, workflows.DefaultTaskQueue, desc.TaskQueueName)

	var in workflows.ConnectionSyncInput
	require.NoError(t, json.Unmarshal(startedInput(t, srv.Client(), workflowID, desc.WorkflowExecution.RunID), &in))
	require.NoError(t, in.Validate())
	require.Equal(t, workflows.ConnectionWorkflowID(in.ConnectionID), workflowID)
}

// TestStartWait waits for a stand-in ConnectionSync (the real one is tested in
// workflows/ and e2e/) and prints its result.
func TestStartWait(t *testing.T) {
	srv := testenv.StartTemporal(t, testenv.DevServerOptions{})
	c := srv.Client()
	const queue = "starter-wait-test"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.ConnectionSyncInput) (workflows.ConnectionSyncResult, error) {
		return workflows.ConnectionSyncResult{ConnectionID: in.ConnectionID, Runs: 1}, nil
	}, workflow.RegisterOptions{Name: workflows.ConnectionSyncName})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	cfg := startConfig{Input: workflows.ConnectionSyncInput{ConnectionID: "w", OrgSlug: "gh/acme"}, TaskQueue: queue,
		Namespace: "default", UIURL: "http://localhost:8233", Wait: true}
	var out, errOut bytes.Buffer
	require.NoError(t, startSync(context.Background(), c, cfg, time.Minute, &out, &errOut), errOut.String())
	text := out.String()
	i := strings.Index(text, "{")
	require.GreaterOrEqual(t, i, 0, text)
	var res workflows.ConnectionSyncResult
	require.NoError(t, json.Unmarshal([]byte(text[i:]), &res), text)
	require.Equal(t, workflows.ConnectionSyncResult{ConnectionID: "w", Runs: 1}, res)
	require.Contains(t, text, "\n  \"connection_id\": \"w\"", "indented JSON")
}

func TestStartBadInput(t *testing.T) {
	t.Setenv("CIRCLECI_ORG", "")
	t.Setenv("CIRCLECI_BASE_URL", "")
	// Nothing listens here: invalid input must be reported before dialing.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"connection_id is required", "org_slug is required", "-connection connection_id"}},
		{[]string{"-connection", "a b", "-org", "gh/acme"}, []string{`connection_id (3 bytes)`}},
		{[]string{"-connection", "acme", "-org", "acme"}, []string{`org_slug: want <vcs>/<org>`}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-since", "yesterday"}, []string{`since: want RFC 3339`}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-projects", "gh/acme"}, []string{`projects[0] (7 bytes) is not <vcs>/<org>/<project>`}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-token-env", "ghp_abc-123"}, []string{"token_env"}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-max-concurrent-projects", "1000"}, []string{"max_concurrent_projects 1000"}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-base-url", "circleci.com"}, []string{`base_url: want an absolute http(s) URL`}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-overlap", "-1h"}, []string{"overlap -1h0m0s: must not be negative"}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-rerun-window", "3 days"}, []string{"-rerun-window", "duration"}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-repair-every", "never"}, []string{"-repair-every", `"off"`}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "-repair-every", "-1h"}, []string{"repair_every -1h0m0s: must not be negative"}},
		{[]string{"-connection", "acme", "-org", "gh/acme", "extra"}, []string{"unexpected arguments"}},
		{[]string{"-list", "-counts"}, []string{"-list and -counts"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errOut)
			require.Error(t, err)
			require.Equal(t, 2, exitCode(err), "%v", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error()+errOut.String(), w)
			}
			require.Empty(t, out.String())
		})
	}
}

func TestStartNoServer(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-connection", "acme", "-org", "gh/acme", "-timeout", "2s"}, &out, &errOut)
	require.Error(t, err)
	require.Equal(t, 1, exitCode(err))
	require.Contains(t, err.Error(), "connect to Temporal at 127.0.0.1:1")
}

func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out, &errOut)
	require.True(t, errors.Is(err, flag.ErrHelp), "%v", err)
	require.Contains(t, errOut.String(), "starter counts")
}

func TestWebUILink(t *testing.T) {
	require.Equal(t, "http://localhost:8233/namespaces/my%20ns/workflows/circleci-sync%2Facme%2Fgh%2Facme%2Fapi/r1/history",
		webUILink("http://localhost:8233", "my ns", "circleci-sync/acme/gh/acme/api", "r1"))
	u, err := url.Parse(webUILink("http://localhost:8233/", "", "circleci-sync/a", "r"))
	require.NoError(t, err)
	require.Equal(t, "/namespaces/default/workflows/circleci-sync/a/r/history", u.Path)
}

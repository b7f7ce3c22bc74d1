package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// startFlags are the flags of the start mode, as typed.
type startFlags struct {
	connection, org, baseURL, tokenEnv string
	projects, since                    string
	maxConcurrentProjects              int
	overlap, rerunWindow               durationFlag
	usersFreshFor, rediscoverAfter     durationFlag
	repairEvery                        repairEveryFlag
	continuous                         bool
	interval                           durationFlag
	taskQueue, uiURL                   string
	wait                               bool
	include, testsJobs                 string
}

// durationFlag is an optional duration flag: unset leaves the workflow's default.
type durationFlag struct{ d *workflows.Duration }

// String returns the value, "" when unset.
func (f *durationFlag) String() string {
	if f == nil || f.d == nil {
		return ""
	}
	return f.d.D().String()
}

// Set parses a Go duration such as "90m" or "72h".
func (f *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"1h\" or \"72h\"")
	}
	d := workflows.Duration(v)
	f.d = &d
	return nil
}

// input builds the sync's input from the flags.
func (s startFlags) input() workflows.ConnectionSyncInput {
	in := workflows.ConnectionSyncInput{
		ConnectionID:          strings.TrimSpace(s.connection),
		OrgSlug:               strings.TrimSpace(s.org),
		BaseURL:               strings.TrimSpace(s.baseURL),
		TokenEnv:              strings.TrimSpace(s.tokenEnv),
		Since:                 strings.TrimSpace(s.since),
		MaxConcurrentProjects: s.maxConcurrentProjects,
		Overlap:               s.overlap.d,
		RerunWindow:           s.rerunWindow.d,
		RepairEvery:           s.repairEvery.r,
		UsersFreshFor:         s.usersFreshFor.d,
		RediscoverAfter:       s.rediscoverAfter.d,
		Continuous:            s.continuous,
		Interval:              s.interval.d,
		TestsJobs:             s.testsJobs,
	}
	for v := range strings.SplitSeq(s.include, ",") {
		if v = strings.TrimSpace(v); v != "" {
			in.Include = append(in.Include, v)
		}
	}
	for p := range strings.SplitSeq(s.projects, ",") {
		if p = strings.TrimSpace(p); p != "" {
			in.Projects = append(in.Projects, p)
		}
	}
	return in
}

// startConfig is what starting a sync needs besides a client.
type startConfig struct {
	Input     workflows.ConnectionSyncInput
	TaskQueue string
	// Namespace and UIURL make the Web UI link.
	Namespace string
	UIURL     string
	// Wait waits for the result and prints it.
	Wait bool
}

// flagOfField names the flag that sets each input field, for error messages.
const flagOfField = "flags to fields: -connection connection_id, -org org_slug, -base-url base_url, " +
	"-projects projects, -token-env token_env, -since since, -max-concurrent-projects max_concurrent_projects, " +
	"-overlap overlap, -rerun-window rerun_window, -repair-every repair_every, -users-fresh-for users_fresh_for, " +
	"-rediscover-after rediscover_after, -continuous continuous, " +
	"-interval interval, -include include, -tests-jobs tests_jobs"

// validateInput checks in as ConnectionSync will, as a usageError.
func validateInput(in workflows.ConnectionSyncInput) error {
	err := in.Validate()
	if err == nil {
		return nil
	}
	msg := err.Error()
	if appErr, ok := errors.AsType[*temporal.ApplicationError](err); ok {
		msg = appErr.Message()
	}
	return usageError{fmt.Errorf("%s\n(%s)", msg, flagOfField)}
}

// runStart validates the flags, connects to Temporal and starts the sync.
func runStart(ctx context.Context, s startFlags, timeout time.Duration, stdout, stderr io.Writer) error {
	cfg := startConfig{Input: s.input(), TaskQueue: strings.TrimSpace(s.taskQueue), UIURL: s.uiURL, Wait: s.wait}
	if err := validateInput(cfg.Input); err != nil {
		return err
	}
	if cfg.TaskQueue == "" {
		return usageError{errors.New("-task-queue is empty")}
	}
	c, namespace, err := dial(ctx, timeout, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	cfg.Namespace = namespace
	return startSync(ctx, c, cfg, timeout, stdout, stderr)
}

// dial connects to Temporal as the Temporal CLI would, within timeout, returning the
// client and namespace; the SDK logs warnings at most to stderr.
func dial(ctx context.Context, timeout time.Duration, stderr io.Writer) (client.Client, string, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := syncworker.ClientOptions(logger)
	if err != nil {
		return nil, "", err
	}
	dialCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := syncworker.DialOptions(dialCtx, opts)
	return c, syncworker.Namespace(opts), err
}

// startSync starts cfg's sync (or attaches to the running one), prints its IDs and Web
// UI link, and with cfg.Wait waits and prints its result.
func startSync(ctx context.Context, c client.Client, cfg startConfig, timeout time.Duration, stdout, stderr io.Writer) error {
	if err := validateInput(cfg.Input); err != nil {
		return err
	}
	id := workflows.ConnectionWorkflowID(cfg.Input.ConnectionID)
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// Only to tell the user: the start below attaches to a running sync anyway.
	if desc, err := c.DescribeWorkflow(reqCtx, id, ""); err == nil &&
		desc.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		fmt.Fprintf(stderr, "A sync of connection %s is already running (run %s): attaching to it; it goes on with the input it was started with.\n",
			cfg.Input.ConnectionID, desc.WorkflowExecution.RunID)
	} else if err != nil {
		if _, notFound := errors.AsType[*serviceerror.NotFound](err); !notFound {
			return fmt.Errorf("look up workflow %s: %w", id, err)
		}
	}

	run, err := c.ExecuteWorkflow(reqCtx, client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: cfg.TaskQueue,
		// One sync per connection: a running one is attached to.
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            workflows.ConnectionSummary(cfg.Input),
		StaticDetails:            workflows.ConnectionDetails(cfg.Input, "the starter"),
		Priority:                 workflows.SyncPriority(cfg.Input.ConnectionID, workflows.PriorityIncremental),
	}, workflows.ConnectionSyncName, cfg.Input)
	if err != nil {
		return fmt.Errorf("start workflow %s (%s) on task queue %s: %w", id, workflows.ConnectionSyncName, cfg.TaskQueue, err)
	}
	fmt.Fprintf(stdout, "workflow_id=%s\nrun_id=%s\nweb_ui=%s\n", run.GetID(), run.GetRunID(),
		webUILink(cfg.UIURL, cfg.Namespace, run.GetID(), run.GetRunID()))
	if !cfg.Wait {
		return nil
	}

	fmt.Fprintf(stderr, "Waiting for the sync to end (Ctrl-C stops waiting; the sync goes on)...\n")
	var result json.RawMessage
	if err := run.Get(ctx, &result); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped waiting for workflow %s; it goes on: %w", id, ctx.Err())
		}
		return fmt.Errorf("sync %s failed: %w", id, err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, result, "", "  "); err != nil {
		return fmt.Errorf("result of workflow %s is not JSON: %w", id, err)
	}
	out.WriteByte('\n')
	_, err = stdout.Write(out.Bytes())
	return err
}

// webUILink is the Web UI page of a workflow run's history.
func webUILink(ui, namespace, workflowID, runID string) string {
	if namespace == "" {
		namespace = client.DefaultNamespace
	}
	return strings.TrimRight(ui, "/") + "/namespaces/" + url.PathEscape(namespace) + "/workflows/" +
		url.PathEscape(workflowID) + "/" + url.PathEscape(runID) + "/history"
}

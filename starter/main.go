// Command starter starts a connection's sync (-wait waits for its result) and inspects
// syncs: -list (what CircleCI shows the token), counts, report, schedule, resync and keygen
// (`starter -h`; docs/operations.md). Tokens are never flags: a sync names the worker's
// variable. Exit status: 0 on success, 2 on bad flags or input, 1 otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/syncworker"
	"github.com/circleci-sync/circleci-sync/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "starter:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is a mistake in the flags or the sync input: exit status 2.
type usageError struct{ err error }

// Error returns the mistake's message.
func (e usageError) Error() string { return e.err.Error() }

// Unwrap returns the mistake.
func (e usageError) Unwrap() error { return e.err }

// exitCode is the exit status for err.
func exitCode(err error) int {
	if _, ok := errors.AsType[usageError](err); ok {
		return 2
	}
	return 1
}

// options are the parsed flags of every mode.
type options struct {
	list, counts bool
	listCfg      listConfig
	start        startFlags
	databaseURL  string
	timeout      time.Duration
	schedule     scheduleFlags
	resync       resyncFlags
	keyID        string
}

// run parses the flags and does what they ask.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "counts":
			args = append([]string{"-counts"}, args[1:]...)
		case "schedule":
			return runSchedule(ctx, args[1:], stdout, stderr)
		case "report":
			return runReport(ctx, args[1:], stdout, stderr)
		case "webhooks":
			return runWebhooks(ctx, args[1:], stdout, stderr)
		case "watch":
			return runWatch(ctx, args[1:], stdout, stderr)
		case "resync":
			o, err := parseFlags(args[1:], stderr)
			if err != nil {
				return err
			}
			return runResync(ctx, o, stdout, stderr)
		case "keygen":
			o, err := parseFlags(args[1:], stderr)
			if err != nil {
				return err
			}
			return runKeygen(o.keyID, stdout)
		}
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	switch {
	case o.list && o.counts:
		return usageError{errors.New("-list and -counts are different modes: pass one")}
	case o.list:
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		return listConnection(ctx, o.listCfg, stdout)
	case o.counts:
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		return printCounts(ctx, o.databaseURL, o.start.connection, stdout)
	default:
		return runStart(ctx, o.start, o.timeout, stdout, stderr)
	}
}

// parseFlags parses the flags of every mode.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var o options
	s := &o.start
	defineStartFlags(fs, s)
	fs.BoolVar(&o.list, "list", false, "list what the connection would sync, through CircleCI's API, and exit")
	fs.BoolVar(&o.counts, "counts", false, "print the database's row counts, its skipped ledger and the -connection's last run, and exit")
	fs.Var(&o.schedule.every, "every", "schedule create: start a sync this often (default 1h)")
	fs.Var(&o.schedule.jitter, "jitter", "schedule create: start up to this much later, at random (spreads many connections; default none)")
	fs.BoolVar(&o.schedule.paused, "paused", false, "schedule create: create the schedule paused")
	fs.BoolVar(&o.schedule.now, "now", false, "schedule create: also start a sync at once")
	fs.StringVar(&o.resync.reason, "reason", "", "resync: why (shown in the sync's progress)")
	fs.BoolVar(&o.resync.start, "start", false, "resync: start the sync (with the start flags) when none runs")
	fs.StringVar(&o.keyID, "id", "k1", "keygen: the key id")
	fs.StringVar(&o.databaseURL, "database-url", envOr(syncworker.EnvDatabaseURL, store.DefaultURL), "-counts: the database (env DATABASE_URL)")
	fs.IntVar(&o.listCfg.MaxPages, "max-pages", 5, "-list: most pipeline pages to read per project (20 pipelines a page)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long (-list, -counts, and the start request; -wait waits as long as the sync takes)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, usageError{err}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return o, usageError{fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	o.listCfg.BaseURL = s.baseURL
	o.listCfg.TokenEnv = s.tokenEnv
	o.listCfg.OrgSlug = s.org
	return o, nil
}

// usage is the starter's help text, before its flags.
const usage = `Usage:
  starter -connection ID -org SLUG [flags]   start (or attach to) a connection's sync
  starter -list [-org SLUG] [flags]          list what a connection would sync (talks to CircleCI)
  starter counts [-connection ID]            print the database's row counts
  starter report [-connection ID] [-since 30d] [-branches]
                                             print the workflow metrics of the window, per project
  starter schedule create|describe|trigger|delete -connection ID [-org SLUG -every 1h ...]
                                             manage the connection's Temporal Schedule
  starter resync -connection ID [-reason R] [-start -org SLUG ...]
                                             ask the running sync for another cycle
  starter keygen [-id ID]                    print a new PAYLOAD_ENCRYPTION_KEYS entry

Flags:
`

// defineStartFlags defines the flags of a sync's input and start.
func defineStartFlags(fs *flag.FlagSet, s *startFlags) {
	fs.StringVar(&s.connection, "connection", "", "connection ID (required to start): letters, digits, '.', '_', '-'; the workflow ID is circleci-sync/<ID>")
	fs.StringVar(&s.org, "org", os.Getenv("CIRCLECI_ORG"), "organization slug, such as gh/acme, bb/acme or circleci/<org-id> (env CIRCLECI_ORG); required to start; -list: empty means every organization")
	fs.StringVar(&s.baseURL, "base-url", envOr("CIRCLECI_BASE_URL", workflows.DefaultBaseURL), "CircleCI base URL: cloud or a CircleCI Server host (env CIRCLECI_BASE_URL)")
	fs.StringVar(&s.tokenEnv, "token-env", workflows.DefaultTokenEnv, "name of the environment variable holding the CircleCI personal API token: the worker's when starting, the starter's with -list")
	fs.StringVar(&s.projects, "projects", "", "comma-separated project slugs to sync (gh/acme/api,gh/acme/web); empty: discover the organization's projects")
	fs.StringVar(&s.since, "since", "", "first sync of a project: skip pipelines created before this RFC 3339 time or date (2026-01-01); empty: all history")
	fs.IntVar(&s.maxConcurrentProjects, "max-concurrent-projects", 0, fmt.Sprintf("projects synced at once (0: %d, at most %d)", workflows.DefaultMaxConcurrentProjects, workflows.MaxConcurrentProjectsLimit))
	fs.Var(&s.overlap, "overlap", fmt.Sprintf("incremental sync: re-read pipelines this far before the watermark (default %s)", workflows.DefaultOverlap))
	fs.Var(&s.rerunWindow, "rerun-window", fmt.Sprintf("incremental sync: re-list the workflows of pipelines this recent, to catch reruns (default %s)", workflows.DefaultRerunWindow))
	fs.Var(&s.repairEvery, "repair-every", fmt.Sprintf("how often a project's repair pass (reruns at any age) runs: a duration, 0s (every sync) or off (default %s)", workflows.DefaultRepairEvery))
	fs.Var(&s.usersFreshFor, "users-fresh-for", fmt.Sprintf("users fetched this recently are not fetched again (default %s)", workflows.DefaultUsersFreshFor))
	fs.Var(&s.rediscoverAfter, "rediscover-after", fmt.Sprintf("projects discovered this recently are not discovered again (default %s; 0s: every sync)", workflows.DefaultRediscoverAfter))
	fs.BoolVar(&s.continuous, "continuous", false, "keep the sync running: a cycle every -interval, and on resync requests")
	fs.Var(&s.interval, "interval", fmt.Sprintf("-continuous: the wait between cycles (default %s, at least %s)", workflows.DefaultInterval, workflows.MinInterval))
	fs.StringVar(&s.include, "include", "", "comma-separated extras read once per finished build job: job_details, tests (each a request or more per job); empty: none")
	fs.StringVar(&s.testsJobs, "tests-jobs", "", "-include tests: read the tests of jobs whose name matches this regular expression (RE2) only; empty: every job's")
	fs.StringVar(&s.taskQueue, "task-queue", envOr(syncworker.EnvTaskQueue, workflows.DefaultTaskQueue), "task queue the worker polls (env "+syncworker.EnvTaskQueue+")")
	fs.BoolVar(&s.wait, "wait", false, "wait for the sync to end and print its result as JSON (Ctrl-C stops waiting, not the sync)")
	fs.StringVar(&s.uiURL, "ui", envOr("TEMPORAL_UI_URL", "http://localhost:8233"), "Temporal Web UI base URL, for the printed link (env TEMPORAL_UI_URL)")
}

// envOr returns the environment variable name's value, or def when it is empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

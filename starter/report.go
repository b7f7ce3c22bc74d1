package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/syncworker"
)

// reportFlags are the flags of starter report.
type reportFlags struct {
	connection, databaseURL string
	since                   time.Duration
	branches                bool
	timeout                 time.Duration
}

// runReport prints the workflow metrics and queue times of the last -since and the
// flaky tests, per project, as the metric views define them (docs/metrics.md), read
// from the database as counts does.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseReportFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	st, err := store.Open(ctx, f.databaseURL)
	if err != nil {
		return fmt.Errorf("open the database %s: %w", store.RedactURL(f.databaseURL), err)
	}
	defer st.Close()
	var projects []string
	if f.connection != "" {
		cs, err := st.ConnectionState(ctx, f.connection)
		if err != nil {
			return fmt.Errorf("read the state of connection %s: %w", f.connection, err)
		}
		if projects = cs.Projects; len(projects) == 0 {
			fmt.Fprintf(stdout, "Connection %s: no projects on record (has it synced?)\n", f.connection)
			return nil
		}
	}
	d, err := readReport(ctx, st, f)
	if err != nil {
		return err
	}
	if f.connection != "" {
		keep := func(slug string) bool { return slices.Contains(projects, slug) }
		d.sums = slices.DeleteFunc(d.sums, func(s store.WorkflowSummary) bool { return !keep(s.ProjectSlug) })
		d.queues = slices.DeleteFunc(d.queues, func(s store.QueueSummary) bool { return !keep(s.ProjectSlug) })
		d.flaky = slices.DeleteFunc(d.flaky, func(s store.FlakyTest) bool { return !keep(s.ProjectSlug) })
	}
	printReport(stdout, f, d)
	return nil
}

// readReport reads the window's metrics and the flaky tests.
func readReport(ctx context.Context, st store.Store, f reportFlags) (reportData, error) {
	to := time.Now().UTC()
	d := reportData{window: store.WindowFilter{From: to.Add(-f.since), To: to, AllBranches: !f.branches}}
	var err error
	if d.sums, err = st.WorkflowSummaries(ctx, d.window); err != nil {
		return d, fmt.Errorf("read the workflow metrics: %w", err)
	}
	if d.queues, err = st.QueueSummaries(ctx, d.window); err != nil {
		return d, fmt.Errorf("read the queue times: %w", err)
	}
	if d.flaky, err = st.FlakyTests(ctx); err != nil {
		return d, fmt.Errorf("read the flaky tests: %w", err)
	}
	return d, nil
}

// parseReportFlags parses the flags of starter report.
func parseReportFlags(args []string, stderr io.Writer) (reportFlags, error) {
	f := reportFlags{since: 30 * 24 * time.Hour}
	fs := flag.NewFlagSet("starter report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.connection, "connection", "", "only the projects of this connection (default: every project in the database)")
	fs.Func("since", "the window: workflows created this long ago or later, in days (30d) or a Go duration (72h) (default 30d)",
		func(s string) (err error) { f.since, err = parseSince(s); return err })
	fs.BoolVar(&f.branches, "branches", false, "a row per workflow name and branch (default: per name, all branches)")
	fs.StringVar(&f.databaseURL, "database-url", envOr(syncworker.EnvDatabaseURL, store.DefaultURL), "the database (env DATABASE_URL)")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, err
		}
		return f, usageError{err}
	}
	if fs.NArg() > 0 {
		return f, usageError{fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	return f, nil
}

// parseSince reads a window length: whole days ("30d") or a positive Go duration.
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("want a number of days such as 30d")
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want days such as 30d or a duration such as 72h")
	}
	return d, nil
}

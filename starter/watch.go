package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/circleci-sync/circleci-sync/store"
	"github.com/circleci-sync/circleci-sync/workflows"
)

// watchFlags are the watch subcommand's flags.
type watchFlags struct {
	connection string
	every      time.Duration
	plain      bool
	timeout    time.Duration
}

// runWatch shows a running sync live, from its progress query, until it ends,
// then its result. ANSI only: it works over SSH, in tmux, in any terminal.
func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("starter watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f watchFlags
	fs.StringVar(&f.connection, "connection", "", "the connection whose sync to watch (required)")
	fs.DurationVar(&f.every, "every", 2*time.Second, "how often the screen refreshes")
	fs.BoolVar(&f.plain, "plain", false, "print each screen after the last instead of redrawing (logs, pipes)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for Temporal on each request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(f.connection) == "" {
		return usageError{errors.New("watch: -connection is required")}
	}
	c, _, err := dial(ctx, f.timeout, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	return watch(ctx, c, f, stdout)
}

// watch redraws the screen every f.every until the sync ends, then prints its
// result (or its failure).
func watch(ctx context.Context, c client.Client, f watchFlags, out io.Writer) error {
	id := workflows.ConnectionWorkflowID(strings.TrimSpace(f.connection))
	ended := make(chan error, 1)
	var res workflows.ConnectionSyncResult
	go func() { ended <- c.GetWorkflow(ctx, id, "").Get(ctx, &res) }()
	v := watchView{started: time.Now()}
	tick := time.NewTicker(f.every)
	defer tick.Stop()
	for {
		if err := v.sample(ctx, c, id, f.timeout); err == nil {
			draw(out, v, f.plain)
		} else if v.cur.at.IsZero() {
			return fmt.Errorf("query the progress of %s: %w", id, err)
		}
		select {
		case err := <-ended:
			if v.sample(ctx, c, id, f.timeout) == nil {
				draw(out, v, f.plain)
			}
			return printResult(out, res, err)
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sample queries the progress, keeping the sample before for the rates.
func (v *watchView) sample(ctx context.Context, c client.Client, id string, timeout time.Duration) error {
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	val, err := c.QueryWorkflow(qctx, id, "", workflows.ProgressQuery)
	if err != nil {
		return err
	}
	var p workflows.ConnectionProgress
	if err := val.Get(&p); err != nil {
		return err
	}
	now := time.Now()
	if v.cur.at.IsZero() {
		v.cur = watchSample{at: now, p: p}
	}
	v.prev, v.cur = v.cur, watchSample{at: now, p: p}
	return nil
}

// draw writes the screen: from the top of a cleared terminal, or after the
// last one (plain).
func draw(out io.Writer, v watchView, plain bool) {
	var b bytes.Buffer
	if !plain {
		b.WriteString("\x1b[H\x1b[2J")
	} else {
		b.WriteString("\n")
	}
	v.render(&b)
	_, _ = out.Write(b.Bytes())
}

// printResult writes how the sync ended.
func printResult(out io.Writer, res workflows.ConnectionSyncResult, err error) error {
	if err != nil {
		fmt.Fprintf(out, "\nThe sync failed: %v\n", err)
		return err
	}
	t := res.Totals
	fmt.Fprintf(out, "\nDone: cycle %d of %s · %d projects (%d failed) · %d pipelines · %d workflows · %d jobs · "+
		"%d users · %d requests\n", res.Cycle, res.ConnectionID, len(res.Projects)+res.OmittedProjects, res.FailedProjects,
		t.Of(store.KindPipeline), t.Of(store.KindWorkflow), t.Of(store.KindJob), t.Of(store.KindUser), t.Requests)
	return nil
}

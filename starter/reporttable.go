package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
)

// reportData is what a report prints: the window's workflows and queue times, and
// the flaky tests now.
type reportData struct {
	window store.WindowFilter
	sums   []store.WorkflowSummary
	queues []store.QueueSummary
	flaky  []store.FlakyTest
}

// maxFlaky bounds the flaky tests printed per project.
const maxFlaky = 10

// projects returns the projects with anything to print, sorted.
func (d reportData) projects() []string {
	var out []string
	for _, s := range d.sums {
		out = append(out, s.ProjectSlug)
	}
	for _, q := range d.queues {
		out = append(out, q.ProjectSlug)
	}
	for _, f := range d.flaky {
		out = append(out, f.ProjectSlug)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// printReport writes one section per project: workflows, queue times, flaky tests.
func printReport(out io.Writer, f reportFlags, d reportData) {
	scope := "every project"
	if f.connection != "" {
		scope = "connection " + f.connection
	}
	fmt.Fprintf(out, "Report of %s: runs created %s to %s (UTC), CircleCI Insights' definitions (docs/metrics.md)\n",
		scope, d.window.From.Format("2006-01-02 15:04"), d.window.To.Format("2006-01-02 15:04"))
	projects := d.projects()
	if len(projects) == 0 {
		fmt.Fprintln(out, "No workflow runs in the window.")
		return
	}
	for _, p := range projects {
		fmt.Fprintf(out, "\n%s\n", p)
		printWorkflows(out, d, p)
		printQueues(out, d, p)
		printFlaky(out, d, p)
	}
}

// printWorkflows writes the workflow table of project p.
func printWorkflows(out io.Writer, d reportData, p string) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "WORKFLOW\tBRANCH\tRUNS\tSUCCESS\tRUNS/DAY\tMIN\tMEAN\tMEDIAN\tP95\tMAX\tMTTR\tRERUN\tSAVED BY RERUN\t")
	for _, s := range d.sums {
		if s.ProjectSlug != p {
			continue
		}
		branch := s.Branch
		if d.window.AllBranches {
			branch = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.WorkflowName, branch, s.Runs,
			percent(s.Successful, s.Runs-s.Canceled), s.Throughput, secs(s.DurationMin), secs(s.DurationMean),
			secs(s.DurationMedian), secs(s.DurationP95), secs(s.DurationMax), secs(s.MTTR),
			percent(s.RerunPipelines, s.Pipelines), percent(s.SuccessesAfterRerun, s.RerunsAfterFailure))
	}
	_ = tw.Flush()
}

// printQueues writes the queue times of project p's jobs, when it has any.
func printQueues(out io.Writer, d reportData, p string) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	header := true
	for _, q := range d.queues {
		if q.ProjectSlug != p {
			continue
		}
		if header {
			fmt.Fprintln(out, "  queue time, queued to started (job details):")
			fmt.Fprintln(tw, "RESOURCE CLASS\tJOBS\tP50\tP95\tMAX\t")
			header = false
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", q.ResourceClass, q.Jobs, millis(q.P50), millis(q.P95), millis(q.Max))
	}
	_ = tw.Flush()
}

// printFlaky writes project p's most flaked tests, when it has any.
func printFlaky(out io.Writer, d reportData, p string) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	n := 0
	for _, f := range d.flaky {
		if f.ProjectSlug != p || n == maxFlaky {
			continue
		}
		if n == 0 {
			fmt.Fprintln(out, "  flaky tests, passed and failed on one commit in the last 14 days:")
			fmt.Fprintln(tw, "  TIMES\tLAST\tJOB\tTEST")
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s.%s\n", f.TimesFlaked, f.LastFlakedAt.Format("2006-01-02 15:04"),
			f.JobName, f.Classname, f.Name)
		n++
	}
	_ = tw.Flush()
}

// percent is n of total as a percentage, "-" without a total.
func percent(n, total int64) string {
	if total <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

// secs is a number of seconds as a duration ("1m5s"), "-" for none.
func secs(s *int64) string {
	if s == nil {
		return "-"
	}
	return (time.Duration(*s) * time.Second).String()
}

// millis is a number of milliseconds as a duration ("1.5s").
func millis(ms int64) string { return (time.Duration(ms) * time.Millisecond).String() }

package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
)

// printReport writes the summaries as one table per project.
func printReport(out io.Writer, f reportFlags, w store.WindowFilter, sums []store.WorkflowSummary) {
	scope := "every project"
	if f.connection != "" {
		scope = "connection " + f.connection
	}
	fmt.Fprintf(out, "Workflows of %s created %s to %s (UTC), CircleCI Insights' definitions (docs/metrics.md)\n",
		scope, w.From.Format("2006-01-02 15:04"), w.To.Format("2006-01-02 15:04"))
	if len(sums) == 0 {
		fmt.Fprintln(out, "No workflow runs in the window.")
		return
	}
	var tw *tabwriter.Writer
	project := ""
	for _, s := range sums {
		if s.ProjectSlug != project || tw == nil {
			if tw != nil {
				_ = tw.Flush()
			}
			project = s.ProjectSlug
			fmt.Fprintf(out, "\n%s\n", project)
			tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "WORKFLOW\tBRANCH\tRUNS\tSUCCESS\tRUNS/DAY\tMIN\tMEAN\tMEDIAN\tP95\tMAX\tMTTR\tRERUN\tSAVED BY RERUN\t")
		}
		branch := s.Branch
		if w.AllBranches {
			branch = "(all)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.WorkflowName, branch, s.Runs,
			percent(s.Successful, s.Runs-s.Canceled), s.Throughput, secs(s.DurationMin), secs(s.DurationMean),
			secs(s.DurationMedian), secs(s.DurationP95), secs(s.DurationMax), secs(s.MTTR),
			percent(s.RerunPipelines, s.Pipelines), percent(s.SuccessesAfterRerun, s.RerunsAfterFailure))
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

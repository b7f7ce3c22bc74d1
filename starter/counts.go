package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
)

// printCounts prints the row count of each data table of the database at
// databaseURL, the skipped ledger by kind and reason, and, when connectionID is
// set, that connection's last completed run.
func printCounts(ctx context.Context, databaseURL, connectionID string, out io.Writer) error {
	st, err := store.Open(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("open the database %s: %w", store.RedactURL(databaseURL), err)
	}
	defer st.Close()
	c, err := st.Counts(ctx)
	if err != nil {
		return fmt.Errorf("count rows: %w", err)
	}
	skipped, err := st.Skipped(ctx)
	if err != nil {
		return fmt.Errorf("read the skipped ledger: %w", err)
	}

	fmt.Fprintf(out, "Database %s\n", store.RedactURL(databaseURL))
	for _, k := range store.EntityKinds {
		fmt.Fprintf(out, "  %-20s %8d\n", k.Table(), c.Entities[k.Name])
	}
	fmt.Fprintf(out, "  %-20s %8d\n", store.SkippedTable, c.Skipped)
	if len(skipped) > 0 {
		byReason := map[string]int{}
		for _, s := range skipped {
			byReason[s.Kind+" "+s.Reason]++
		}
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(byReason)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, byReason[k]))
		}
		fmt.Fprintf(out, "Skipped (could not be fetched): %s\n", strings.Join(parts, ", "))
	}

	if connectionID == "" {
		return nil
	}
	cs, err := st.ConnectionState(ctx, connectionID)
	if err != nil {
		return fmt.Errorf("read the state of connection %s: %w", connectionID, err)
	}
	if cs.LastRunAt.IsZero() {
		fmt.Fprintf(out, "Connection %s: no completed sync on record\n", connectionID)
		return nil
	}
	fmt.Fprintf(out, "Connection %s (%s): last sync completed %s, %d projects\n", connectionID, cs.OrgSlug,
		cs.LastRunAt.UTC().Format(time.RFC3339), len(cs.Projects))
	if len(cs.LastRun) > 0 {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(cs.LastRun)) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, cs.LastRun[k]))
		}
		fmt.Fprintf(out, "  last run: %s\n", strings.Join(parts, " "))
	}
	return nil
}

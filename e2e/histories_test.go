package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// chainStats sums up the workflow histories walked.
type chainStats struct {
	// Runs is the number of runs of each workflow ID (continue-as-new makes more).
	Runs map[string]int
	// Events is the number of events read; MaxRunEvents the most in one run.
	Events, MaxRunEvents int
	// MaxAttempt is the highest activity attempt started.
	MaxAttempt int32
	// Retries counts the activities that ended after more than one attempt, by
	// the failure of the attempt before the last (failureReason: an
	// ApplicationError's type, such as store_error or rate_limited, or
	// timeout_<kind>). A history records only an activity's last attempt.
	Retries map[string]int
	// WorkflowTaskProblems counts the workflow tasks that timed out or failed
	// (a worker lost while it held one, say).
	WorkflowTaskProblems int
}

// walkHistories reads the history of every run of each workflow in roots (a
// first run; continue-as-new runs are followed) and of every child they started,
// and fails t if any event holds one of the secrets (see scanHistories). As a
// positive control it also checks that the scan finds the fake's URL, which
// every ConnectionSync input holds (base_url) in a payload.
func walkHistories(t *testing.T, c client.Client, roots []runRef, fakeURL string, secrets ...string) chainStats {
	t.Helper()
	st, hits, err := scanHistories(c, roots, append([]string{fakeURL}, secrets...))
	if err != nil {
		t.Fatalf("read the histories: %v", err)
	}
	if len(hits[fakeURL]) == 0 {
		t.Errorf("positive control: the history scan did not find the base_url %s in any input", fakeURL)
	}
	for _, s := range secrets {
		for _, where := range hits[s] {
			t.Errorf("a secret appears in a history: %s", where)
		}
	}
	return st
}

// scanHistories reads the histories of roots' chains and children (see
// walkHistories) and returns, for each needle, the events holding it in their
// JSON form (protojson) or their binary form (where payload bytes, such as
// inputs, results, heartbeat details and failures, appear verbatim; protojson
// writes them in base64).
func scanHistories(c client.Client, roots []runRef, needles []string) (chainStats, map[string][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	st := chainStats{Runs: map[string]int{}, Retries: map[string]int{}}
	hits := map[string][]string{}
	seen := map[runRef]bool{}
	queue := slices.Clone(roots)
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		st.Runs[ref.WorkflowID]++
		it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var last *historypb.HistoryEvent
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return st, nil, fmt.Errorf("history of %s run %s: %w", ref.WorkflowID, ref.RunID, err)
			}
			st.Events++
			last = ev
			js, err := protojson.Marshal(ev)
			if err != nil {
				return st, nil, err
			}
			bin, err := proto.Marshal(ev)
			if err != nil {
				return st, nil, err
			}
			for _, n := range needles {
				if strings.Contains(string(js), n) || bytes.Contains(bin, []byte(n)) {
					hits[n] = append(hits[n], fmt.Sprintf("%s run %s event %d (%s)", ref.WorkflowID, ref.RunID,
						ev.GetEventId(), ev.GetEventType()))
				}
			}
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				queue = append(queue, runRef{a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()})
			}
			if a := ev.GetActivityTaskStartedEventAttributes(); a != nil {
				st.MaxAttempt = max(st.MaxAttempt, a.GetAttempt())
				if a.GetAttempt() > 1 {
					st.Retries[failureReason(a.GetLastFailure())]++
				}
			}
			if ev.GetWorkflowTaskTimedOutEventAttributes() != nil || ev.GetWorkflowTaskFailedEventAttributes() != nil {
				st.WorkflowTaskProblems++
			}
		}
		st.MaxRunEvents = max(st.MaxRunEvents, int(last.GetEventId()))
		if a := last.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			queue = append(queue, runRef{ref.WorkflowID, a.GetNewExecutionRunId()})
		}
	}
	return st, hits, nil
}

// failureReason names the failure of an activity attempt: an ApplicationError's
// type, timeout_<kind> for a timeout, or the failure's kind.
func failureReason(f *failurepb.Failure) string {
	for f != nil {
		switch {
		case f.GetApplicationFailureInfo() != nil:
			return f.GetApplicationFailureInfo().GetType()
		case f.GetTimeoutFailureInfo() != nil:
			return "timeout_" + strings.ToLower(strings.TrimPrefix(f.GetTimeoutFailureInfo().GetTimeoutType().String(),
				"TIMEOUT_TYPE_"))
		case f.GetCanceledFailureInfo() != nil:
			return "canceled"
		case f.GetCause() == nil:
			return "other"
		}
		f = f.GetCause()
	}
	return "none"
}

// recordHistories writes the history of every run of root's chain and of its
// children's chains to dir, one JSON file per run (the format of `temporal
// workflow show --output json`), for workflows/replay_test.go. Files are named
// <WorkflowType>-<n>.json in reading order; dir is emptied of *.json first.
func recordHistories(t *testing.T, c client.Client, root runRef, dir string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	require.NoError(t, err)
	for _, f := range old {
		require.NoError(t, os.Remove(f))
	}
	recordHistoriesAs(t, c, root, dir, "")
}

// recordHistoriesAs is recordHistories naming the files
// <WorkflowType>-<tag>-<n>.json (tag "": as recordHistories), leaving the others.
func recordHistoriesAs(t *testing.T, c client.Client, root runRef, dir, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queue := []runRef{root}
	n := 0
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		var events []*historypb.HistoryEvent
		it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			events = append(events, ev)
			if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
				queue = append(queue, runRef{a.GetWorkflowExecution().GetWorkflowId(), a.GetWorkflowExecution().GetRunId()})
			}
		}
		require.NotEmpty(t, events)
		if a := events[len(events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
			queue = append(queue, runRef{ref.WorkflowID, a.GetNewExecutionRunId()})
		}
		typ := events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
		b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: events})
		require.NoError(t, err)
		n++
		if tag != "" {
			typ += "-" + tag
		}
		name := filepath.Join(dir, fmt.Sprintf("%s-%02d.json", typ, n))
		require.NoError(t, os.WriteFile(name, append(b, '\n'), 0o644))
	}
	t.Logf("recorded %d workflow histories in %s", n, dir)
}

package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// childTimes sums where the project children's time went: waiting in the
// activity queue (scheduled to started), running activities (started to
// completed), and the rest of the child's life (workflow tasks, the start).
type childTimes struct {
	Children              int
	Life, Queued, Running time.Duration
	// Parent sums the connection workflows' activities, scheduled to closed, by type.
	Parent map[string]time.Duration
}

func (t childTimes) String() string {
	if t.Children == 0 {
		return "no children"
	}
	n := time.Duration(t.Children)
	var parent []string
	for _, k := range slices.Sorted(maps.Keys(t.Parent)) {
		parent = append(parent, fmt.Sprintf("%s %s", k, secs(t.Parent[k])))
	}
	return fmt.Sprintf("per project child: %s from start to close, %s of it activities queued, %s running, %s the rest; "+
		"connection activities, summed: %s", secs(t.Life/n), secs(t.Queued/n), secs(t.Running/n),
		secs((t.Life-t.Queued-t.Running)/n), strings.Join(parent, ", "))
}

// projectChildTimes reads the first runs of the children the roots started.
func projectChildTimes(ctx context.Context, c client.Client, roots []runRef) (childTimes, error) {
	t := childTimes{Parent: map[string]time.Duration{}}
	scheduled := map[string]time.Time{} // by run and event id
	types := map[string]string{}
	for _, root := range roots {
		for ref := root; ref.RunID != ""; {
			next := ""
			it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, 0)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					return t, err
				}
				if a := ev.GetChildWorkflowExecutionStartedEventAttributes(); a != nil {
					we := a.GetWorkflowExecution()
					if err := t.addChild(ctx, c, runRef{we.GetWorkflowId(), we.GetRunId()}); err != nil {
						return t, err
					}
				}
				if a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
					next = a.GetNewExecutionRunId()
				}
				t.addParentEvent(ref.RunID, ev, scheduled, types)
			}
			ref.RunID = next
		}
	}
	return t, nil
}

// addChild adds one child run's times.
func (t *childTimes) addChild(ctx context.Context, c client.Client, ref runRef) error {
	it := c.GetWorkflowHistory(ctx, ref.WorkflowID, ref.RunID, false, 0)
	var first, last time.Time
	scheduled, started := map[int64]time.Time{}, map[int64]time.Time{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return err
		}
		at := ev.GetEventTime().AsTime()
		if first.IsZero() {
			first = at
		}
		last = at
		switch {
		case ev.GetActivityTaskScheduledEventAttributes() != nil:
			scheduled[ev.GetEventId()] = at
		case ev.GetActivityTaskStartedEventAttributes() != nil:
			a := ev.GetActivityTaskStartedEventAttributes()
			t.Queued += at.Sub(scheduled[a.GetScheduledEventId()])
			started[a.GetScheduledEventId()] = at
		case ev.GetActivityTaskCompletedEventAttributes() != nil:
			t.Running += at.Sub(started[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()])
		case ev.GetActivityTaskFailedEventAttributes() != nil:
			t.Running += at.Sub(started[ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()])
		}
	}
	t.Children++
	t.Life += last.Sub(first)
	return nil
}

// addParentEvent adds a connection activity's time when ev closes it.
func (t *childTimes) addParentEvent(run string, ev *historypb.HistoryEvent, scheduled map[string]time.Time,
	types map[string]string) {
	key := func(id int64) string { return fmt.Sprintf("%s/%d", run, id) }
	var closed int64
	switch {
	case ev.GetActivityTaskScheduledEventAttributes() != nil:
		scheduled[key(ev.GetEventId())] = ev.GetEventTime().AsTime()
		types[key(ev.GetEventId())] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
		return
	case ev.GetActivityTaskCompletedEventAttributes() != nil:
		closed = ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
	case ev.GetActivityTaskFailedEventAttributes() != nil:
		closed = ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()
	default:
		return
	}
	t.Parent[types[key(closed)]] += ev.GetEventTime().AsTime().Sub(scheduled[key(closed)])
}

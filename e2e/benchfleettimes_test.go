package e2e

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
)

// childTimes sums where the project children's time went: waiting in the
// activity queue (scheduled to started), running activities (started to
// completed), and the rest of the child's life (workflow tasks, the start).
type childTimes struct {
	Children              int
	Life, Queued, Running time.Duration
}

func (t childTimes) String() string {
	if t.Children == 0 {
		return "no children"
	}
	n := time.Duration(t.Children)
	return fmt.Sprintf("per project child: %s from start to close, %s of it activities queued, %s running, %s the rest",
		secs(t.Life/n), secs(t.Queued/n), secs(t.Running/n), secs((t.Life-t.Queued-t.Running)/n))
}

// projectChildTimes reads the first runs of the children the roots started.
func projectChildTimes(ctx context.Context, c client.Client, roots []runRef) (childTimes, error) {
	var t childTimes
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

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// DefaultEvery is how often a schedule starts a sync by default.
const DefaultEvery = time.Hour

// scheduleCatchupWindow is how late a missed scheduled sync may still start.
const scheduleCatchupWindow = 10 * time.Minute

// scheduleFlags are the schedule subcommand's own flags.
type scheduleFlags struct {
	every, jitter durationFlag
	paused, now   bool
}

// runSchedule runs `starter schedule <action> [flags]`.
func runSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{errors.New("schedule: want an action: create, describe, trigger or delete")}
	}
	action := args[0]
	o, err := parseFlags(args[1:], stderr)
	if err != nil {
		return err
	}
	conn := strings.TrimSpace(o.start.connection)
	if conn == "" {
		return usageError{errors.New("schedule: -connection is required")}
	}
	var in workflows.ConnectionSyncInput
	switch action {
	case "create":
		in = o.start.input()
		if err := validateInput(in); err != nil {
			return err
		}
		if in.Continuous {
			return usageError{errors.New("schedule create: a scheduled sync runs one cycle; -continuous is for a sync that never ends")}
		}
	case "describe", "trigger", "delete":
	default:
		return usageError{fmt.Errorf("schedule: unknown action %q: want create, describe, trigger or delete", action)}
	}
	c, _, err := dial(ctx, o.timeout, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	rctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	sc := scheduleConfig{Input: in, Connection: conn, TaskQueue: strings.TrimSpace(o.start.taskQueue),
		Every: DefaultEvery, Paused: o.schedule.paused, Now: o.schedule.now}
	if o.schedule.every.d != nil {
		sc.Every = o.schedule.every.d.D()
	}
	if o.schedule.jitter.d != nil {
		sc.Jitter = o.schedule.jitter.d.D()
	}
	return manageSchedule(rctx, c, action, sc, stdout)
}

// scheduleConfig is what managing a connection's schedule needs.
type scheduleConfig struct {
	Input      workflows.ConnectionSyncInput
	Connection string
	TaskQueue  string
	Every      time.Duration
	Jitter     time.Duration
	Paused     bool
	// Now starts a sync at once too (create).
	Now bool
}

// manageSchedule creates, describes, triggers or deletes the connection's schedule.
func manageSchedule(ctx context.Context, c client.Client, action string, sc scheduleConfig, out io.Writer) error {
	id := workflows.ScheduleID(sc.Connection)
	h := c.ScheduleClient().GetHandle(ctx, id)
	switch action {
	case "create":
		return createSchedule(ctx, c, id, sc, out)
	case "trigger":
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
			return fmt.Errorf("trigger schedule %s: %w", id, err)
		}
		fmt.Fprintf(out, "schedule_id=%s\ntriggered=true\n", id)
		return nil
	case "delete":
		if err := h.Delete(ctx); err != nil {
			return fmt.Errorf("delete schedule %s: %w", id, err)
		}
		fmt.Fprintf(out, "schedule_id=%s\ndeleted=true\n", id)
		return nil
	}
	return describeSchedule(ctx, h, id, out)
}

// createSchedule creates the schedule id that starts sc's sync every sc.Every.
func createSchedule(ctx context.Context, c client.Client, id string, sc scheduleConfig, out io.Writer) error {
	if sc.Every < time.Minute {
		return usageError{fmt.Errorf("schedule create: -every %s: want at least 1m", sc.Every)}
	}
	if sc.Jitter < 0 || sc.Jitter >= sc.Every {
		return usageError{fmt.Errorf("schedule create: -jitter %s: want 0 to less than -every", sc.Jitter)}
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   id,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: sc.Every}}, Jitter: sc.Jitter},
		Action: &client.ScheduleWorkflowAction{
			ID:            workflows.ConnectionWorkflowID(sc.Input.ConnectionID),
			Workflow:      workflows.ConnectionSyncName,
			Args:          []any{sc.Input},
			TaskQueue:     sc.TaskQueue,
			StaticSummary: workflows.ConnectionSummary(sc.Input),
			StaticDetails: workflows.ConnectionDetails(sc.Input, "the schedule "+id),
			Priority:      workflows.SyncPriority(sc.Input.ConnectionID, workflows.PriorityIncremental),
		},
		// A sync still running when the next is due: skip the next.
		Overlap:            enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow:      scheduleCatchupWindow,
		Paused:             sc.Paused,
		TriggerImmediately: sc.Now,
		Note:               "circleci-sync: a sync of connection " + sc.Connection,
	})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("schedule %s exists already: `starter schedule delete -connection %s` first", id, sc.Connection)
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	fmt.Fprintf(out, "schedule_id=%s\nevery=%s\njitter=%s\npaused=%t\n", id, sc.Every, sc.Jitter, sc.Paused)
	return nil
}

// describeSchedule prints the schedule's state, recent runs and next times.
func describeSchedule(ctx context.Context, h client.ScheduleHandle, id string, out io.Writer) error {
	d, err := h.Describe(ctx)
	if err != nil {
		return fmt.Errorf("describe schedule %s: %w", id, err)
	}
	fmt.Fprintf(out, "schedule_id=%s\npaused=%t\nactions=%d\nskipped=%d\n", id, d.Schedule.State.Paused,
		d.Info.NumActions, d.Info.NumActionsSkippedOverlap)
	for _, a := range d.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			fmt.Fprintf(out, "recent=%s %s\n", a.ActualTime.UTC().Format(time.RFC3339), a.StartWorkflowResult.WorkflowID)
		}
	}
	for _, t := range d.Info.NextActionTimes {
		fmt.Fprintf(out, "next=%s\n", t.UTC().Format(time.RFC3339))
	}
	return nil
}

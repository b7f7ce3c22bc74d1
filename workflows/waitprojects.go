package workflows

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// WaitForProjectsName is the activity with which a ConnectionSync run waits for
// the children an earlier run left running (CarriedProject): it returns as
// soon as one has ended, or after WaitForProjectsUpTo with none, holding no
// worker slot for longer (docs/design.md#long-histories).
const WaitForProjectsName = "WaitForProjects"

// WaitForProjectsUpTo bounds one WaitForProjects; ProjectLostError is the
// outcome of a child whose history Temporal no longer has.
const (
	WaitForProjectsUpTo = time.Minute
	ProjectLostError    = "project_workflow_lost"
	waitHeartbeatEvery  = 5 * time.Second
)

// WaitForProjectsInput lists the children to wait for.
type WaitForProjectsInput struct {
	Projects []CarriedProject `json:"projects"`
}

// EndedProject is how one waited-for child ended: its result, or its failure's
// type and message.
type EndedProject struct {
	ProjectSlug string            `json:"project_slug"`
	Result      ProjectSyncResult `json:"result"`
	ErrorType   string            `json:"error_type,omitempty"`
	Error       string            `json:"error,omitempty"`
}

// RegisterActivities registers the workflows' own activities (they need only
// the worker's Temporal client) with a worker.
func RegisterActivities(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(WaitForProjects, activity.RegisterOptions{Name: WaitForProjectsName})
}

// WaitForProjects waits up to WaitForProjectsUpTo for any of in's children to
// end (following their continue-as-new chains) and returns those that have.
// A child still running, or one Temporal could not be asked about, is left
// out: the next call asks again.
func WaitForProjects(ctx context.Context, in WaitForProjectsInput) ([]EndedProject, error) {
	return waitForProjects(ctx, activity.GetClient(ctx), in, WaitForProjectsUpTo, func() { activity.RecordHeartbeat(ctx) })
}

// waitForProjects is WaitForProjects with its client, bound and heartbeat.
func waitForProjects(ctx context.Context, c client.Client, in WaitForProjectsInput, upTo time.Duration,
	heartbeat func()) ([]EndedProject, error) {
	wctx, stop := context.WithTimeout(ctx, upTo)
	defer stop()
	results := make(chan *EndedProject, len(in.Projects))
	for _, p := range in.Projects {
		go func() { results <- waitForProject(wctx, c, p) }()
	}
	tick := time.NewTicker(waitHeartbeatEvery)
	defer tick.Stop()
	var ended []EndedProject
	for answered := 0; answered < len(in.Projects); {
		select {
		case e := <-results:
			answered++
			if e != nil {
				ended = append(ended, *e)
				stop() // the others still running answer at once
			}
		case <-tick.C:
			heartbeat()
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return ended, nil
}

// waitForProject waits for p's child to end within ctx; nil while it runs (or
// Temporal did not answer).
func waitForProject(ctx context.Context, c client.Client, p CarriedProject) *EndedProject {
	e := &EndedProject{ProjectSlug: p.Slug}
	err := c.GetWorkflow(ctx, p.WorkflowID, p.RunID).Get(ctx, &e.Result)
	var failed *temporal.WorkflowExecutionError
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
	case errors.As(err, &failed):
		e.ErrorType, e.Error = describeFailure(err)
	case errors.As(err, &notFound) && ctx.Err() == nil:
		e.ErrorType, e.Error = ProjectLostError, "Temporal no longer has the project's workflow "+p.WorkflowID+
			": how it ended is unknown"
	default:
		return nil
	}
	return e
}

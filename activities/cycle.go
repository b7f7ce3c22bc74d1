package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/circleci-sync/circleci-sync/store"
)

// The cycle activities keep a ConnectionSync cycle's project list and the
// connection's new record in the store (store.Cycle, keyed by the workflow ID),
// so that the workflow carries neither, and the record changes only when the
// cycle completes.

// CycleFirstProjects is how many of the cycle's projects DiscoverCycle returns.
const CycleFirstProjects = 200

// CycleDiscovery is DiscoverCycle's result.
type CycleDiscovery struct {
	// Projects counts the cycle's projects; First are the first of them (at most
	// CycleFirstProjects), the others are read with CycleProjects.
	Projects int      `json:"projects"`
	First    []string `json:"first"`
	Requests int64    `json:"requests"`
	// Rest: the org pipeline list is left to DiscoverCycleRest, which may add projects.
	Rest bool `json:"rest,omitempty"`
	// FirstSync: no project of the org was on record, so every project's sync is a
	// first sync (its children go at first-sync priority).
	FirstSync bool `json:"first_sync,omitempty"`
}

// CyclePageInput asks for the cycle's projects from Offset, at most Limit.
type CyclePageInput struct {
	Offset int `json:"offset"`
	Limit  int `json:"limit"`
}

// DiscoverCycle runs DiscoverProjects and keeps its projects, and the record it
// would save, as the calling workflow's cycle.
func (a *Activities) DiscoverCycle(ctx context.Context, in DiscoverInput) (CycleDiscovery, error) {
	if err := a.checkStore(); err != nil {
		return CycleDiscovery{}, err
	}
	staging := &stagingStore{Store: a.Store}
	discovering := *a
	discovering.Store = staging
	res, err := discovering.DiscoverProjects(ctx, in)
	if err != nil {
		return CycleDiscovery{Requests: res.Requests}, err
	}
	c := store.Cycle{WorkflowID: workflowID(ctx), ConnectionID: in.Connection.ConnectionID, Projects: res.Projects,
		Staged: staging.staged}
	if err := a.Store.SaveCycle(ctx, c); err != nil {
		return CycleDiscovery{}, applicationError(ctx, err, "save the cycle of connection "+c.ConnectionID)
	}
	return CycleDiscovery{Projects: len(res.Projects), First: res.Projects[:min(len(res.Projects), CycleFirstProjects)],
		Requests: res.Requests, Rest: res.OrgListLeft, FirstSync: res.FirstDiscovery}, nil
}

// CycleProjects returns a page of the calling workflow's cycle projects.
func (a *Activities) CycleProjects(ctx context.Context, in CyclePageInput) ([]string, error) {
	c, err := a.cycle(ctx)
	if err != nil {
		return nil, err
	}
	from := min(max(in.Offset, 0), len(c.Projects))
	return c.Projects[from:min(from+max(in.Limit, 0), len(c.Projects))], nil
}

// FinishCycleInput is FinishCycle's input: the users to resolve, then the
// record to complete (its Counts without the users').
type FinishCycleInput struct {
	Users    ResolveUsersInput       `json:"users"`
	Complete CompleteConnectionInput `json:"complete"`
}

// FinishCycle ends a cycle in one activity, so one round trip to Temporal: it
// resolves the users the cycle's projects reference (ResolveUsers), adds their
// counts to the record's and records the cycle (completeCycle). A retry
// resolves again: users a failed attempt fetched count as fresh. One after the
// record was saved finds the cycle gone and resolves no users: its result then
// counts none, while the record holds the first attempt's figures.
func (a *Activities) FinishCycle(ctx context.Context, in FinishCycleInput) (ResolveUsersResult, error) {
	c, err := a.cycle(ctx)
	if err != nil {
		return ResolveUsersResult{}, err
	}
	if in.Users.Projects == nil {
		in.Users.Projects = c.Projects
	}
	users, err := a.ResolveUsers(ctx, in.Users)
	if err != nil {
		return users, err
	}
	in.Complete.Counts.Then(users.Counts)
	if err := a.completeCycle(ctx, c, in.Complete); err != nil {
		return users, err
	}
	a.pruneCycles(ctx, in.Complete.Connection, c.WorkflowID)
	return users, nil
}

// StaleCycleAfter is how long a connection's cycle row outlives its run when the
// run failed and never came back (a one-off or a Schedule's run): a completed cycle
// of the connection forgets the rows saved that long before.
const StaleCycleAfter = 30 * 24 * time.Hour

// pruneCycles forgets the connection's stale cycle rows. The cycle is done either
// way: a failure is logged, and the next completed cycle tries again.
func (a *Activities) pruneCycles(ctx context.Context, conn Connection, keep string) {
	if err := a.Store.PruneCycles(ctx, conn.ConnectionID, keep, time.Now().Add(-StaleCycleAfter)); err != nil {
		logger(ctx, conn).Warn("stale cycles not pruned", "error", err)
	}
}

// completeCycle is CompleteConnection for cycle c's projects (in.Projects when
// given), from the record its discovery staged; then the cycle is dropped.
func (a *Activities) completeCycle(ctx context.Context, c store.Cycle, in CompleteConnectionInput) error {
	if in.Projects == nil {
		in.Projects = c.Projects
	}
	completing := *a
	completing.Store = completingStore{Store: a.Store, staged: c.Staged}
	if err := completing.CompleteConnection(ctx, in); err != nil {
		return err
	}
	if err := a.Store.DropCycle(ctx, c.WorkflowID); err != nil {
		return applicationError(ctx, err, "drop the cycle of connection "+in.Connection.ConnectionID)
	}
	return nil
}

// cycle reads the calling workflow's cycle (an empty one when there is none:
// completed already, for a retried FinishCycle).
func (a *Activities) cycle(ctx context.Context) (store.Cycle, error) {
	if err := a.checkStore(); err != nil {
		return store.Cycle{}, err
	}
	c, _, err := a.Store.Cycle(ctx, workflowID(ctx))
	if err != nil {
		return store.Cycle{}, applicationError(ctx, err, "read the cycle of workflow "+workflowID(ctx))
	}
	c.WorkflowID = workflowID(ctx)
	return c, nil
}

// workflowID is the calling workflow's ID.
func workflowID(ctx context.Context) string {
	return activity.GetInfo(ctx).WorkflowExecution.ID
}

// stagingStore keeps the connection state it is asked to save, instead of
// saving it.
type stagingStore struct {
	store.Store
	staged *store.ConnectionState
}

func (s *stagingStore) SaveConnectionState(_ context.Context, st store.ConnectionState) error {
	s.staged = &st
	return nil
}

// completingStore reads a connection's state as staged (when it was).
type completingStore struct {
	store.Store
	staged *store.ConnectionState
}

func (s completingStore) ConnectionState(ctx context.Context, id string) (store.ConnectionState, error) {
	if s.staged != nil {
		return *s.staged, nil
	}
	return s.Store.ConnectionState(ctx, id)
}

package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Priority keys of the syncs (1 is dispatched first): a targeted re-sync, an
// incremental cycle, a first sync or backfill. docs/operations.md explains them.
const (
	PriorityTargeted    = 1
	PriorityIncremental = 3
	PriorityFirstSync   = 5
)

// SyncPriority is the priority of a sync of connectionID: key, and the
// connection as fairness key, so one connection's backlog cannot starve another's.
func SyncPriority(connectionID string, key int) temporal.Priority {
	return temporal.Priority{PriorityKey: key, FairnessKey: connectionID}
}

// prioritized sets the connection's fairness key on the activities ctx
// schedules, with the run's own priority key (0: the server's default).
func prioritized(ctx workflow.Context, connectionID string) workflow.Context {
	return workflow.WithPriority(ctx, SyncPriority(connectionID, workflow.GetInfo(ctx).Priority.PriorityKey))
}

// planned sets the priority of a project's activities once its plan tells a
// first sync (no watermark) from an incremental one.
func planned(ctx workflow.Context, connectionID string, incremental bool) workflow.Context {
	key := PriorityFirstSync
	if incremental {
		key = PriorityIncremental
	}
	return workflow.WithPriority(ctx, SyncPriority(connectionID, key))
}

// childPriority is the priority of the children ctx starts: the activities', or
// first-sync priority when the cycle is the org's first sync. A project's first
// activity (SyncProject) runs at its workflow's key, before its plan is known.
func childPriority(ctx workflow.Context, firstSync bool) temporal.Priority {
	p := workflow.GetActivityOptions(ctx).Priority
	if firstSync {
		p.PriorityKey = PriorityFirstSync
	}
	return p
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Cycle is a ConnectionSync cycle in progress, kept in the store so that the
// workflow carries none of its lists.
type Cycle struct {
	// WorkflowID is the ConnectionSync's workflow ID (the key).
	WorkflowID   string
	ConnectionID string
	// Projects are the cycle's projects, in the order they are synced.
	Projects []string
	// Staged is the connection's record as the cycle's discovery left it, saved
	// when the cycle completes; nil when discovery left it as it was.
	Staged *ConnectionState
	// SavedAt is when SaveCycle stored it (zero: now); not read back.
	SavedAt time.Time
}

// Cycles keeps the cycles in progress.
type Cycles interface {
	// SaveCycle stores c, replacing the cycle of its workflow ID.
	SaveCycle(ctx context.Context, c Cycle) error
	// Cycle returns the cycle of a workflow ID and whether there is one.
	Cycle(ctx context.Context, workflowID string) (Cycle, bool, error)
	// DropCycle forgets the cycle of a workflow ID, if any.
	DropCycle(ctx context.Context, workflowID string) error
	// PruneCycles forgets the connection's cycles, other than keep's, saved
	// before t: runs that failed and never came back.
	PruneCycles(ctx context.Context, connectionID, keep string, t time.Time) error
}

// SaveCycle stores c, replacing the cycle of its workflow ID.
func (q *queries) SaveCycle(ctx context.Context, c Cycle) error {
	if c.WorkflowID == "" || c.ConnectionID == "" {
		return fmt.Errorf("%w: cycle: empty workflow or connection id", ErrInvalidItem)
	}
	projects, err := json.Marshal(c.Projects)
	var staged sql.NullString
	if err == nil && c.Staged != nil {
		var b []byte
		b, err = json.Marshal(c.Staged)
		staged = sql.NullString{String: string(b), Valid: true}
	}
	if err == nil {
		saved := c.SavedAt
		if saved.IsZero() {
			saved = q.now()
		}
		err = q.db.exec(ctx, `INSERT INTO circleci_sync_cycles (workflow_id, connection_id, projects, staged_state, saved_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (workflow_id) DO UPDATE SET connection_id = excluded.connection_id,
			projects = excluded.projects, staged_state = excluded.staged_state, saved_at = excluded.saved_at`,
			c.WorkflowID, c.ConnectionID, string(projects), staged, timeArg(saved))
	}
	if err != nil {
		return fmt.Errorf("store: save cycle of %q: %w", c.WorkflowID, err)
	}
	return nil
}

// Cycle returns the cycle of a workflow ID and whether there is one.
func (q *queries) Cycle(ctx context.Context, workflowID string) (Cycle, bool, error) {
	c := Cycle{WorkflowID: workflowID}
	var projects string
	var staged sql.NullString
	found, err := q.queryRow(ctx, []any{&c.ConnectionID, &projects, &staged},
		`SELECT connection_id, projects, staged_state FROM circleci_sync_cycles WHERE workflow_id = $1`, workflowID)
	if err == nil && found {
		err = json.Unmarshal([]byte(projects), &c.Projects)
	}
	if err == nil && staged.Valid {
		c.Staged = &ConnectionState{}
		err = json.Unmarshal([]byte(staged.String), c.Staged)
	}
	if err != nil {
		return Cycle{}, false, fmt.Errorf("store: read cycle of %q: %w", workflowID, err)
	}
	return c, found, nil
}

// DropCycle forgets the cycle of a workflow ID.
func (q *queries) DropCycle(ctx context.Context, workflowID string) error {
	if err := q.db.exec(ctx, `DELETE FROM circleci_sync_cycles WHERE workflow_id = $1`, workflowID); err != nil {
		return fmt.Errorf("store: drop cycle of %q: %w", workflowID, err)
	}
	return nil
}

// PruneCycles forgets the connection's cycles, other than keep's, saved before t.
func (q *queries) PruneCycles(ctx context.Context, connectionID, keep string, t time.Time) error {
	err := q.db.exec(ctx, `DELETE FROM circleci_sync_cycles WHERE connection_id = $1 AND workflow_id <> $2
		AND saved_at < $3`, connectionID, keep, timeArg(t))
	if err != nil {
		return fmt.Errorf("store: prune the cycles of connection %q: %w", connectionID, err)
	}
	return nil
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// Staging keeps a connection's record as a sync cycle left it until the cycle
// completes.
type Staging interface {
	// StageConnectionState keeps s as the connection's staged record, replacing
	// an earlier one.
	StageConnectionState(ctx context.Context, s ConnectionState) error
	// StagedConnectionState returns the staged record and whether there is one.
	StagedConnectionState(ctx context.Context, connectionID string) (ConnectionState, bool, error)
	// DropStagedConnectionState forgets the staged record, if any.
	DropStagedConnectionState(ctx context.Context, connectionID string) error
}

// StageConnectionState keeps s as the connection's staged record.
func (q *queries) StageConnectionState(ctx context.Context, s ConnectionState) error {
	if s.ConnectionID == "" {
		return fmt.Errorf("%w: staged connection state: empty connection id", ErrInvalidItem)
	}
	b, err := json.Marshal(s)
	if err == nil {
		err = q.db.exec(ctx, `INSERT INTO circleci_sync_staged_connections (connection_id, state) VALUES ($1, $2)
			ON CONFLICT (connection_id) DO UPDATE SET state = excluded.state`, s.ConnectionID, string(b))
	}
	if err != nil {
		return fmt.Errorf("store: stage state of connection %q: %w", s.ConnectionID, err)
	}
	return nil
}

// StagedConnectionState returns the staged record of a connection and whether
// there is one.
func (q *queries) StagedConnectionState(ctx context.Context, connectionID string) (ConnectionState, bool, error) {
	var raw sql.NullString
	found, err := q.queryRow(ctx, []any{&raw},
		`SELECT state FROM circleci_sync_staged_connections WHERE connection_id = $1`, connectionID)
	var st ConnectionState
	if err == nil && found {
		err = json.Unmarshal([]byte(raw.String), &st)
	}
	if err != nil {
		return ConnectionState{}, false, fmt.Errorf("store: read staged state of connection %q: %w", connectionID, err)
	}
	return st, found, nil
}

// DropStagedConnectionState forgets the staged record of a connection.
func (q *queries) DropStagedConnectionState(ctx context.Context, connectionID string) error {
	if err := q.db.exec(ctx, `DELETE FROM circleci_sync_staged_connections WHERE connection_id = $1`,
		connectionID); err != nil {
		return fmt.Errorf("store: drop staged state of connection %q: %w", connectionID, err)
	}
	return nil
}

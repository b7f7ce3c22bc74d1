package activities

import (
	"context"

	"github.com/circleci-sync/circleci-sync/store"
)

// DiscoverCycle is DiscoverProjects for a ConnectionSync cycle: the connection's
// record it would change is staged instead, and becomes the record only when
// CompleteCycle runs, so a cycle that never completes leaves it as it was.
func (a *Activities) DiscoverCycle(ctx context.Context, in DiscoverInput) (DiscoverResult, error) {
	if err := a.checkStore(); err != nil {
		return DiscoverResult{}, err
	}
	if err := a.Store.DropStagedConnectionState(ctx, in.Connection.ConnectionID); err != nil {
		return DiscoverResult{}, applicationError(ctx, err, "drop the staged state of connection "+in.Connection.ConnectionID)
	}
	staging := *a
	staging.Store = stagingStore{a.Store}
	return staging.DiscoverProjects(ctx, in)
}

// CompleteCycle is CompleteConnection from the record DiscoverCycle staged.
func (a *Activities) CompleteCycle(ctx context.Context, in CompleteConnectionInput) error {
	if err := a.checkStore(); err != nil {
		return err
	}
	completing := *a
	completing.Store = completingStore{a.Store}
	return completing.CompleteConnection(ctx, in)
}

// stagingStore stages the connection states it is asked to save.
type stagingStore struct{ store.Store }

func (s stagingStore) SaveConnectionState(ctx context.Context, st store.ConnectionState) error {
	return s.StageConnectionState(ctx, st)
}

// completingStore reads a connection's staged state (its record when none) and,
// once it saved the record, drops the staged one.
type completingStore struct{ store.Store }

func (s completingStore) ConnectionState(ctx context.Context, id string) (store.ConnectionState, error) {
	st, ok, err := s.StagedConnectionState(ctx, id)
	if err != nil || ok {
		return st, err
	}
	return s.Store.ConnectionState(ctx, id)
}

func (s completingStore) SaveConnectionState(ctx context.Context, st store.ConnectionState) error {
	if err := s.Store.SaveConnectionState(ctx, st); err != nil {
		return err
	}
	return s.DropStagedConnectionState(ctx, st.ConnectionID)
}

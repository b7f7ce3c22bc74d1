package activities

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// TestStorePermissionIsNotRetried: a database that refuses the worker's
// writes (SQLSTATE 42501) is a non-retryable store_permission with advice,
// not a store_error retried for six hours.
func TestStorePermissionIsNotRetried(t *testing.T) {
	denied := fmt.Errorf("save connection: %w", &pgconn.PgError{Code: "42501",
		Message: "permission denied for table circleci_sync_connections"})
	err := applicationError(context.Background(), denied, "verify connection acme")
	ae := requireAppError(t, err, ErrStorePermission, true)
	require.Contains(t, ae.Error(), "grant its role")
	require.Contains(t, NonRetryableErrorTypes, ErrStorePermission)

	other := &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
	requireAppError(t, applicationError(context.Background(), other, "x"), ErrStore, false)
}

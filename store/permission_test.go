package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/internal/testenv"
)

// TestPermissionDeniedOnSQLite: a write to a read-only SQLite file is a
// permission error (the worker must not retry it for hours).
func TestPermissionDeniedOnSQLite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ro.db")
	st, err := Open(context.Background(), "sqlite://"+path)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	ro := openReadOnlySQLite(t, path)
	err = ro.SaveConnectionState(context.Background(), ConnectionState{ConnectionID: "acme", OrgSlug: "gh/acme"})
	require.Error(t, err)
	require.True(t, IsPermissionDenied(err), "%v", err)
	_, err = ro.ConnectionStates(context.Background())
	require.NoError(t, err, "reads still work")
}

// TestPermissionDeniedOnPostgres: a role that may read but not write gets
// SQLSTATE 42501, which IsPermissionDenied reports.
func TestPermissionDeniedOnPostgres(t *testing.T) {
	u := testenv.PostgresURL(t)
	st, err := Open(context.Background(), u)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	ctx := context.Background()
	admin, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, admin.Close(ctx)) })
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	role := "store_ro_" + hex.EncodeToString(b)
	schema := pgx.Identifier{mustQuery(t, u, "search_path")}.Sanitize()
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE, CREATE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
	} {
		_, err := admin.Exec(ctx, q)
		require.NoError(t, err, q)
	}
	t.Cleanup(func() {
		_, err := admin.Exec(ctx, "DROP OWNED BY "+role)
		require.NoError(t, err)
		_, err = admin.Exec(ctx, "DROP ROLE "+role)
		require.NoError(t, err)
	})
	ru, err := url.Parse(u)
	require.NoError(t, err)
	ru.User = url.User(role)
	ro, err := Open(ctx, ru.String())
	require.NoError(t, err)
	defer func() { require.NoError(t, ro.Close()) }()
	err = ro.SaveConnectionState(ctx, ConnectionState{ConnectionID: "acme", OrgSlug: "gh/acme"})
	require.Error(t, err)
	require.True(t, IsPermissionDenied(err), "%v", err)
	require.False(t, IsPermissionDenied(context.Canceled))
}

// mustQuery returns the query parameter name of URL u.
func mustQuery(t *testing.T, u, name string) string {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	return p.Query().Get(name)
}

// openReadOnlySQLite opens the store on path with a writer SQLite opened
// read-only, as it does a file the process may not write (file modes do not
// bind root, which runs the tests in CI containers).
func openReadOnlySQLite(t *testing.T, path string) Store {
	t.Helper()
	st, err := openSQLite(context.Background(), path)
	require.NoError(t, err)
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	require.NoError(t, err)
	require.NoError(t, st.writer.Close())
	st.writer = ro
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st
}

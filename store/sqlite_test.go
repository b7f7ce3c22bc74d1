package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// holdWriteLock opens the brand-new SQLite file at path as another process would
// (plain rollback journal, as SQLite creates a file), begins a write there and
// returns a function that commits it. Until then, any connection switching the file
// to WAL fails at once with SQLITE_BUSY: SQLite does not call the busy handler when a
// connection that already holds a read lock (as PRAGMA journal_mode does) asks for
// the write lock.
func holdWriteLock(t *testing.T, path string) (commit func()) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)
	_, err = conn.ExecContext(ctx, "CREATE TABLE other_process (x INTEGER)")
	require.NoError(t, err)
	var once sync.Once
	commit = func() { // may run on another goroutine: no FailNow
		once.Do(func() {
			if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
				t.Errorf("commit the other process's write: %v", err)
			}
			if err := conn.Close(); err != nil {
				t.Errorf("close the other process's connection: %v", err)
			}
		})
	}
	t.Cleanup(commit)
	return commit
}

// TestOpenSQLiteWaitsForAnotherWriter: a process that finds a new database file in
// the middle of another one's first write waits for it, instead of failing with
// SQLITE_BUSY while it switches the file to WAL.
func TestOpenSQLiteWaitsForAnotherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	commit := holdWriteLock(t, path)
	const hold = 300 * time.Millisecond
	timer := time.AfterFunc(hold, commit)
	defer timer.Stop()

	start := time.Now()
	st, err := Open(context.Background(), path)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	require.GreaterOrEqual(t, time.Since(start), hold-50*time.Millisecond, "Open did not wait for the lock")

	write(t, st, Batch{Users: []circleci.User{newUser("u1", "ann")}})
	require.Equal(t, int64(1), counts(t, st).Entities[KindUser])
	var mode string
	require.NoError(t, st.(*sqliteStore).writer.QueryRowContext(context.Background(), "PRAGMA journal_mode").Scan(&mode))
	require.Equal(t, "wal", mode)
}

// TestOpenSQLiteBusyStopsWithContext: waiting for the lock ends with ctx.
func TestOpenSQLiteBusyStopsWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	holdWriteLock(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()

	start := time.Now()
	st, err := Open(ctx, path)
	require.Error(t, err)
	require.Nil(t, st)
	// The deadline passes during a pause (the error is SQLITE_BUSY's, wrapping ctx's)
	// or during an attempt (ctx's).
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second, "Open kept waiting after ctx ended")
}

// TestIsSQLiteBusy recognises the primary and extended busy and locked codes only.
func TestIsSQLiteBusy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	holdWriteLock(t, path)
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	_, err = db.Exec("BEGIN IMMEDIATE") // no busy_timeout: fails at once
	require.Error(t, err)
	require.True(t, isSQLiteBusy(err), "%v", err)
	require.True(t, isSQLiteBusy(fmt.Errorf("wrapped: %w", err)))

	_, err = db.Exec("SELECT * FROM no_such_table")
	require.Error(t, err)
	require.False(t, isSQLiteBusy(err), "%v", err)
	require.False(t, isSQLiteBusy(context.Canceled))
	require.False(t, isSQLiteBusy(nil))
}

// sqliteChildEnv names the database file a child process of
// TestConcurrentFirstOpenSQLiteProcesses opens; sqliteChildStartEnv is when it starts
// (Unix nanoseconds), so that all children open at once.
const (
	sqliteChildEnv      = "STORE_TEST_SQLITE_CHILD_PATH"
	sqliteChildStartEnv = "STORE_TEST_SQLITE_CHILD_START"
	sqliteChildIDEnv    = "STORE_TEST_SQLITE_CHILD_ID"
)

// TestConcurrentFirstOpenSQLiteProcesses: several worker processes opening a new
// database file at once all succeed (each child is this test binary, rerun).
func TestConcurrentFirstOpenSQLiteProcesses(t *testing.T) {
	if path := os.Getenv(sqliteChildEnv); path != "" {
		runSQLiteChild(t, path)
		return
	}
	if testing.Short() {
		t.Skip("starts processes")
	}
	const children = 6
	path := filepath.Join(t.TempDir(), "race.db")
	start := time.Now().Add(500 * time.Millisecond)
	cmds := make([]*exec.Cmd, children)
	errs := make(chan error, children)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentFirstOpenSQLiteProcesses$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(),
			sqliteChildEnv+"="+path,
			sqliteChildStartEnv+"="+strconv.FormatInt(start.UnixNano(), 10),
			sqliteChildIDEnv+"="+strconv.Itoa(i))
		cmds[i] = cmd
	}
	for i, cmd := range cmds {
		go func() {
			out, err := cmd.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("child %d: %w\n%s", i, err, out)
			}
			errs <- err
		}()
	}
	for range cmds {
		require.NoError(t, <-errs)
	}
	st, err := Open(context.Background(), path)
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	require.Equal(t, int64(children), counts(t, st).Entities[KindUser])
}

// runSQLiteChild is a child process of TestConcurrentFirstOpenSQLiteProcesses.
func runSQLiteChild(t *testing.T, path string) {
	ns, err := strconv.ParseInt(os.Getenv(sqliteChildStartEnv), 10, 64)
	require.NoError(t, err)
	time.Sleep(time.Until(time.Unix(0, ns)))
	st, err := Open(context.Background(), path)
	require.NoError(t, err)
	id := "u" + os.Getenv(sqliteChildIDEnv)
	write(t, st, Batch{Users: []circleci.User{newUser(id, id)}})
	require.NoError(t, st.Close())
}

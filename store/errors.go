package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// PermissionAdvice says what to do about an error IsPermissionDenied reports.
const PermissionAdvice = "the database refuses this worker's writes: grant its role SELECT, INSERT, UPDATE and DELETE " +
	"on the circleci_sync_* tables (PostgreSQL), or make the SQLite file and its directory writable by the worker, " +
	"then start the sync again"

// pgInsufficientPrivilege is PostgreSQL's SQLSTATE for "permission denied".
const pgInsufficientPrivilege = "42501"

// IsPermissionDenied tells whether err is the database refusing a statement
// for want of rights: PostgreSQL SQLSTATE 42501, or SQLite's read-only,
// permission or authorisation errors. Retrying cannot fix it.
func IsPermissionDenied(err error) bool {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pe.Code == pgInsufficientPrivilege
	}
	if se, ok := errors.AsType[*sqlite.Error](err); ok {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH:
			return true
		}
	}
	return false
}

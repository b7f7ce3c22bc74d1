package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrUnsupportedURL is returned (wrapped) by Open for a database URL it cannot use.
var ErrUnsupportedURL = errors.New("store: unsupported database URL")

// MemoryPath is a private in-memory SQLite database, gone on Close (alone or sqlite://:memory:).
const MemoryPath = ":memory:"

// Open opens the store a database URL names and migrates its schema: "" (DefaultURL),
// postgres:// or postgresql:// (a pgx pool; every pgx parameter works), sqlite://PATH
// (created if missing, PATH taken literally), or a plain path or ":memory:". Anything
// else is ErrUnsupportedURL. Errors never contain the password.
func Open(ctx context.Context, databaseURL string) (Store, error) {
	target, err := parseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	switch target.driver {
	case driverPostgres:
		s, err := openPostgres(ctx, target.url)
		if err != nil {
			return nil, redactError(err, databaseURL)
		}
		return s, nil
	default:
		if target.path != MemoryPath {
			if err := os.MkdirAll(filepath.Dir(target.path), 0o755); err != nil {
				return nil, fmt.Errorf("store: create directory for %s: %w", target.path, err)
			}
		}
		return openSQLite(ctx, target.path)
	}
}

// driver is a database implementation Open can choose.
type driver uint8

const (
	driverSQLite driver = iota
	driverPostgres
)

// dbTarget is a parsed database URL.
type dbTarget struct {
	driver driver
	// url is the PostgreSQL URL, as given.
	url string
	// path is the SQLite file path (or MemoryPath).
	path string
}

// parseDatabaseURL parses a database URL as Open documents.
func parseDatabaseURL(databaseURL string) (dbTarget, error) {
	s := strings.TrimSpace(databaseURL)
	if s == "" {
		s = DefaultURL
	}
	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		if looksLikeKeywordDSN(s) {
			return dbTarget{}, fmt.Errorf("%w: %q looks like a PostgreSQL key=value connection string; use a postgres:// URL",
				ErrUnsupportedURL, RedactURL(s))
		}
		return dbTarget{driver: driverSQLite, path: s}, nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		return dbTarget{driver: driverPostgres, url: s}, nil
	case "sqlite", "sqlite3":
		if rest == "" {
			return dbTarget{}, fmt.Errorf("%w: %q has no file path (want sqlite:///abs/path or sqlite://relative/path)",
				ErrUnsupportedURL, s)
		}
		return dbTarget{driver: driverSQLite, path: rest}, nil
	default:
		return dbTarget{}, fmt.Errorf("%w: %q (want postgres://, postgresql://, sqlite:// or a file path)",
			ErrUnsupportedURL, RedactURL(s))
	}
}

// looksLikeKeywordDSN spots a libpq "host=… password=…" string, not to take it for a path.
func looksLikeKeywordDSN(s string) bool {
	for _, f := range strings.Fields(s) {
		k, _, ok := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "host", "hostaddr", "port", "dbname", "user", "password", "sslmode":
			if ok {
				return true
			}
		}
	}
	return false
}

// RedactURL returns a database URL fit for logs and errors: userinfo and password=
// passwords replaced by "xxxxx"; "" is DefaultURL, as in Open. s need not parse.
func RedactURL(s string) string {
	if strings.TrimSpace(s) == "" {
		return DefaultURL
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		beforeQuery, _, _ := strings.Cut(rest, "?")
		if at := strings.LastIndex(beforeQuery, "@"); at >= 0 {
			if user, _, hasPassword := strings.Cut(rest[:at], ":"); hasPassword {
				s = scheme + "://" + user + ":xxxxx" + rest[at:]
			}
		}
	}
	var b strings.Builder
	for {
		i := strings.Index(strings.ToLower(s), "password=")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		i += len("password=")
		b.WriteString(s[:i])
		b.WriteString("xxxxx")
		s = s[i:]
		end := strings.IndexAny(s, " &")
		if end < 0 {
			return b.String()
		}
		s = s[end:]
	}
}

// urlPassword returns the password of a URL's userinfo or password parameter, or "".
func urlPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			return p
		}
	}
	return u.Query().Get("password")
}

// redactError removes databaseURL's password from err's message, whatever library wrote it.
func redactError(err error, databaseURL string) error {
	pw := urlPassword(databaseURL)
	if err == nil || pw == "" {
		return err
	}
	msg := err.Error()
	redacted := msg
	for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw)} {
		redacted = strings.ReplaceAll(redacted, form, "xxxxx")
	}
	if redacted == msg {
		return err
	}
	return &redactedError{msg: redacted, err: err}
}

// redactedError hides a password from its message but unwraps to the original.
type redactedError struct {
	msg string
	err error
}

// Error returns the redacted message.
func (e *redactedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *redactedError) Unwrap() error { return e.err }

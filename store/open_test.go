package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/circleci-sync/circleci-sync/circleci"
)

func TestParseDatabaseURL(t *testing.T) {
	cases := []struct {
		in   string
		want dbTarget
	}{
		{"", dbTarget{driver: driverSQLite, path: "./data/circleci-sync.db"}},
		{"  ", dbTarget{driver: driverSQLite, path: "./data/circleci-sync.db"}},
		{"sqlite:///abs/path/x.db", dbTarget{driver: driverSQLite, path: "/abs/path/x.db"}},
		{"sqlite://relative/x.db", dbTarget{driver: driverSQLite, path: "relative/x.db"}},
		{"SQLite://./x.db", dbTarget{driver: driverSQLite, path: "./x.db"}},
		{"sqlite://:memory:", dbTarget{driver: driverSQLite, path: ":memory:"}},
		{":memory:", dbTarget{driver: driverSQLite, path: ":memory:"}},
		{"/var/lib/x y.db", dbTarget{driver: driverSQLite, path: "/var/lib/x y.db"}},
		{"data/x.db", dbTarget{driver: driverSQLite, path: "data/x.db"}},
		{"postgres://u:p@h/db", dbTarget{driver: driverPostgres, url: "postgres://u:p@h/db"}},
		{"postgresql://h/db?sslmode=disable", dbTarget{driver: driverPostgres, url: "postgresql://h/db?sslmode=disable"}},
	}
	for _, c := range cases {
		got, err := parseDatabaseURL(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func TestParseDatabaseURLRejects(t *testing.T) {
	for _, in := range []string{
		"mysql://root:s3cret@localhost/db",
		"sqlite://",
		"http://example.com/x.db",
		"host=localhost user=postgres password=s3cret dbname=x",
	} {
		_, err := parseDatabaseURL(in)
		require.ErrorIs(t, err, ErrUnsupportedURL, in)
		require.NotContains(t, err.Error(), "s3cret", in)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@h:5432/db?sslmode=disable": "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u:s3%2Fc@ret@h/db":                  "postgres://u:xxxxx@h/db",
		"postgres://u@h/db":                             "postgres://u@h/db",
		"postgres://h/db?password=s3cret&sslmode=x":     "postgres://h/db?password=xxxxx&sslmode=x",
		"postgres://h/db?user=u&PASSWORD=s3cret":        "postgres://h/db?user=u&PASSWORD=xxxxx",
		"host=h password=s3cret user=u":                 "host=h password=xxxxx user=u",
		"/plain/path.db":                                "/plain/path.db",
	} {
		require.Equal(t, want, RedactURL(in), in)
	}
}

func TestOpenErrorsNeverShowThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{
		// Nothing listens on port 1.
		"postgres://user:s3cret-pw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2",
		"postgres://user@127.0.0.1:1/db?sslmode=disable&password=s3cret-pw&connect_timeout=2",
		// Unparsable parameters.
		"postgres://user:s3cret-pw@127.0.0.1:1/db?pool_max_conns=many",
		"postgres://user:s3cret-pw@127.0.0.1:1/db?sslmode=bogus",
		"postgres://user:s3cret-pw@[::1/db",
		"redis://user:s3cret-pw@127.0.0.1/0",
	} {
		st, err := Open(ctx, u)
		require.Error(t, err, u)
		require.Nil(t, st)
		require.NotContains(t, err.Error(), "s3cret", u)
	}
}

func TestOpenDefaultURLCreatesTheDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	st, err := Open(context.Background(), "")
	require.NoError(t, err)
	defer func() { require.NoError(t, st.Close()) }()
	info, err := os.Stat(filepath.Join("data", "circleci-sync.db"))
	require.NoError(t, err)
	require.False(t, info.IsDir())
}

func TestOpenSQLiteForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, u := range []string{
		"sqlite://" + filepath.Join(dir, "abs", "x.db"), // sqlite:///abs/...
		"sqlite://rel/y.db",
		"plain z.db",
		filepath.Join(dir, "odd ?#%name.db"),
		":memory:",
		"sqlite://:memory:",
	} {
		st, err := Open(context.Background(), u)
		require.NoError(t, err, u)
		write(t, st, Batch{Users: []circleci.User{newUser("u1", "ann")}})
		require.Equal(t, int64(1), counts(t, st).Entities[KindUser], u)
		require.NoError(t, st.Close(), u)
	}
	for _, f := range []string{"abs/x.db", "rel/y.db", "plain z.db", "odd ?#%name.db"} {
		_, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
	}
	// The file keeps its data across Opens.
	st, err := Open(context.Background(), "sqlite://rel/y.db")
	require.NoError(t, err)
	require.Equal(t, int64(1), counts(t, st).Entities[KindUser])
	require.NoError(t, st.Close())
}

package store

import (
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci"
)

// usersTable: last write wins, and every write refreshes fetched_at (which
// UsersFetchedSince reads), so identical rows are updated too.
var usersTable = &table{
	name: "circleci_users",
	cols: []column{
		{"id", colText}, {"login", colText}, {"name", colText}, {"avatar_url", colText},
		{"raw", colJSON}, {"fetched_at", colTime},
	},
	keyLen: 1,
	stamp:  "fetched_at",
}

var userKind = kindOf(KindUser, "users", usersTable, "Users",
	func(b Batch) []circleci.User { return b.Users }, userRow)

// userRow is the circleci_users row of u.
func userRow(u circleci.User, now time.Time) ([]any, error) {
	if u.ID == "" {
		return nil, fmt.Errorf("user (login %q): empty id", u.Login)
	}
	raw, err := rawJSON(u.Raw)
	if err != nil {
		return nil, fmt.Errorf("user %q: %w", u.ID, err)
	}
	return []any{u.ID, u.Login, u.Name, optString(u.AvatarURL), raw, now}, nil
}

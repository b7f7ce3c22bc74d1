package e2e

import (
	"strings"
	"testing"
)

// requireNoSecretInLogs fails t if any log holds one of the secrets. As a
// positive control every log must name the connection (marker, e.g. a
// connection id prefix), so an empty or unrelated log does not pass unseen.
func requireNoSecretInLogs(t *testing.T, logs map[string]string, marker string, secrets ...string) {
	t.Helper()
	for name, l := range logs {
		if !strings.Contains(l, marker) {
			t.Errorf("positive control: the %s log never mentions %q", name, marker)
		}
		for _, s := range secrets {
			if strings.Contains(l, s) {
				t.Errorf("a secret appears in the %s log", name)
			}
		}
		t.Logf("%s log: %d bytes, %d lines, no secret", name, len(l), strings.Count(l, "\n"))
	}
}

// requireNoSecretInState fails t if the sync state tables or the skipped
// ledger hold one of the secrets.
func requireNoSecretInState(t *testing.T, databaseURL string, secrets ...string) {
	t.Helper()
	db, err := openDB(databaseURL)
	if err != nil {
		t.Fatalf("open the database: %v", err)
	}
	defer db.Close()
	for _, q := range []string{
		`SELECT connection_id || ' ' || org_slug || ' ' || base_url || ' ' || COALESCE(CAST(projects AS TEXT), '') || ' ' || COALESCE(CAST(last_run AS TEXT), '') FROM circleci_sync_connections`,
		`SELECT connection_id || ' ' || project_slug || ' ' || COALESCE(CAST(last_run AS TEXT), '') FROM circleci_sync_projects`,
		`SELECT kind || ' ' || id || ' ' || reason || ' ' || message FROM circleci_skipped`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			for _, secret := range secrets {
				if strings.Contains(s, secret) {
					t.Errorf("a secret appears in the database: %s", q)
				}
			}
		}
		_ = rows.Close()
	}
}

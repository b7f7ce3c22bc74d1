package receiver

import (
	"os"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConnections(t *testing.T) {
	path := t.TempDir() + "/connections.json"
	writeFile(t, path, `{"acme":{"org_slug":"gh/acme","continuous":true},"beta":{"connection_id":"beta","org_slug":"circleci/abc"}}`)
	conns, err := LoadConnections(path)
	if err != nil {
		t.Fatal(err)
	}
	if conns["acme"].ConnectionID != "acme" || conns["acme"].OrgSlug != "gh/acme" || conns["beta"].OrgSlug != "circleci/abc" {
		t.Errorf("connections %+v", conns)
	}
	for name, body := range map[string]string{
		"not an object":  `[1]`,
		"bad id":         `{"../x":{"org_slug":"gh/acme"}}`,
		"id mismatch":    `{"acme":{"connection_id":"beta","org_slug":"gh/acme"}}`,
		"no org":         `{"acme":{}}`,
		"state":          `{"acme":{"org_slug":"gh/acme","state":{}}}`,
		"invalid knob":   `{"acme":{"org_slug":"gh/acme","max_concurrent_projects":-1}}`,
		"truncated JSON": `{"acme":`,
	} {
		writeFile(t, path, body)
		if _, err := LoadConnections(path); err == nil {
			t.Errorf("%s: loaded", name)
		} else if strings.Contains(err.Error(), "token") && strings.Contains(body, "token") {
			t.Errorf("%s: error names a token: %v", name, err)
		}
	}
	if _, err := LoadConnections(path + ".missing"); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestValidConnectionID(t *testing.T) {
	for id, want := range map[string]bool{
		"acme": true, "a.b_c-1": true, "A": true,
		"": false, ".": false, "..": false, "-a": false, "a/b": false, "a b": false, "a\x00": false,
		strings.Repeat("a", 200): false,
	} {
		if got := ValidConnectionID(id); got != want {
			t.Errorf("ValidConnectionID(%q) = %v", id, got)
		}
	}
}

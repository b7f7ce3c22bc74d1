package receiver

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/circleci-sync/circleci-sync/workflows"
)

// Connections maps a connection id to the ConnectionSync input a webhook
// starts it with when it is not running. A connection absent here is unknown.
type Connections map[string]workflows.ConnectionSyncInput

var connectionIDChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,` + strconv.Itoa(workflows.MaxConnectionID-1) + `}$`)

// ValidConnectionID reports whether id may name a connection, and so a file.
func ValidConnectionID(id string) bool {
	return connectionIDChars.MatchString(id)
}

// LoadConnections reads a JSON object {"<connection_id>": <ConnectionSyncInput>}
// and validates every input; an input's connection_id defaults to its key.
func LoadConnections(path string) (Connections, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connections file: %w", err)
	}
	var raw map[string]workflows.ConnectionSyncInput
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("connections file %s: want a JSON object of connection id to ConnectionSync input: %w", path, err)
	}
	conns := make(Connections, len(raw))
	for id, in := range raw {
		if !ValidConnectionID(id) {
			return nil, fmt.Errorf("connections file %s: connection id %q: want letters, digits, '.', '_', '-'", path, id)
		}
		if in.ConnectionID == "" {
			in.ConnectionID = id
		}
		if in.ConnectionID != id {
			return nil, fmt.Errorf("connections file %s: key %q holds connection_id %q", path, id, in.ConnectionID)
		}
		if in.State != nil {
			return nil, fmt.Errorf("connections file %s: %s: leave out state", path, id)
		}
		if err := in.Validate(); err != nil {
			return nil, fmt.Errorf("connections file %s: %s: %w", path, id, err)
		}
		conns[id] = in
	}
	return conns, nil
}

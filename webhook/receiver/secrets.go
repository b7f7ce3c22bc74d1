package receiver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFileBytes bounds a secrets file.
const maxSecretFileBytes = 64 << 10

// Secrets finds a connection's signing secrets: the file Dir/<connection_id>
// when Dir is set and the file exists, else Global. A file holds one secret a
// line, so that the old and the new one verify during a rotation.
type Secrets struct {
	Global string
	Dir    string
}

// For returns id's secrets (none: the connection is unknown). id must have
// passed ValidConnectionID: it names a file.
func (s Secrets) For(id string) ([][]byte, error) {
	if !ValidConnectionID(id) {
		return nil, nil
	}
	if s.Dir != "" {
		b, err := readSecretFile(filepath.Join(s.Dir, id))
		if err == nil {
			return splitSecrets(b), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return splitSecrets([]byte(s.Global)), nil
}

func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err == nil && len(b) > maxSecretFileBytes {
		err = fmt.Errorf("secrets file %s over %d bytes", path, maxSecretFileBytes)
	}
	return b, err
}

// splitSecrets returns the non-blank lines of b, trimmed.
func splitSecrets(b []byte) [][]byte {
	var out [][]byte
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, []byte(line))
		}
	}
	return out
}

package codec

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The environment variables KeysFromEnv reads, at most one: the keyring inline
// ("id=base64key,...", see ParseKeys) or the name of a file holding it.
const (
	EnvKeys     = "PAYLOAD_ENCRYPTION_KEYS"
	EnvKeysFile = "PAYLOAD_ENCRYPTION_KEYS_FILE"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// maxKeyIDLen bounds a key id (stored in every encrypted payload).
const maxKeyIDLen = 64

// Key is one AES-256 key and its id; it prints its id only.
type Key struct {
	id     string
	secret []byte
}

// NewKey returns a copy of secret (KeySize bytes) named id (see validKeyID).
func NewKey(id string, secret []byte) (Key, error) {
	if !validKeyID(id) {
		return Key{}, errors.New("codec: invalid key id: want 1 to 64 of A-Z a-z 0-9 . _ -")
	}
	if len(secret) != KeySize {
		return Key{}, fmt.Errorf("codec: key %q is %d bytes, want %d", id, len(secret), KeySize)
	}
	return Key{id: id, secret: append([]byte(nil), secret...)}, nil
}

// ID returns the key's id.
func (k Key) ID() string { return k.id }

// String returns the key's id, never its bytes.
func (k Key) String() string { return "codec.Key(" + k.id + ")" }

// GoString is String, for %#v.
func (k Key) GoString() string { return k.String() }

// validKeyID reports whether id is 1 to 64 of A-Z a-z 0-9 . _ -.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for _, r := range id {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// ParseKeys parses "id=base64key" entries separated by commas or newlines (#
// comments allowed), ids unique; the first encrypts. Errors never hold key material.
func ParseKeys(s string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	entry := 0
	for lineNo, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for field := range strings.SplitSeq(line, ",") {
			field = strings.TrimSpace(field)
			if field == "" {
				continue
			}
			entry++
			k, err := parseKeyEntry(field)
			if err != nil {
				return nil, fmt.Errorf("codec: key entry %d (line %d): %w", entry, lineNo+1, err)
			}
			if seen[k.id] {
				return nil, fmt.Errorf("codec: key entry %d (line %d): duplicate key id %q", entry, lineNo+1, k.id)
			}
			seen[k.id] = true
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("codec: no keys: want id=base64key[,id2=base64key2...]")
	}
	return keys, nil
}

// parseKeyEntry parses "id=base64key", quoting the id only once it is known
// to be one ("KEY=" may be a padded key pasted without an id).
func parseKeyEntry(field string) (Key, error) {
	id, enc, ok := strings.Cut(field, "=")
	id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
	switch {
	case !ok:
		return Key{}, errors.New("want id=base64key")
	case enc == "":
		return Key{}, errors.New("want id=base64key, the key is empty")
	case !validKeyID(id):
		return Key{}, errors.New("invalid key id: want 1 to 64 of A-Z a-z 0-9 . _ -")
	}
	secret, err := decodeBase64(enc)
	if err != nil {
		return Key{}, fmt.Errorf("key %q is not valid base64 (standard or URL alphabet)", id)
	}
	if len(secret) != KeySize {
		return Key{}, fmt.Errorf("key %q is %d bytes, want %d", id, len(secret), KeySize)
	}
	return Key{id: id, secret: secret}, nil
}

// decodeBase64 decodes standard or URL base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// KeysFromEnv reads the keyring from EnvKeys or EnvKeysFile through lookup:
// (nil, nil) with neither (encryption off), an error with both.
func KeysFromEnv(lookup func(string) (string, bool)) ([]Key, error) {
	inline, _ := lookup(EnvKeys)
	file, _ := lookup(EnvKeysFile)
	inline, file = strings.TrimSpace(inline), strings.TrimSpace(file)
	switch {
	case inline != "" && file != "":
		return nil, fmt.Errorf("codec: set %s or %s, not both", EnvKeys, EnvKeysFile)
	case inline != "":
		keys, err := ParseKeys(inline)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvKeys, err)
		}
		return keys, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: read the keyring: %w", EnvKeysFile, err)
		}
		keys, err := ParseKeys(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", EnvKeysFile, file, err)
		}
		return keys, nil
	}
	return nil, nil
}

// GenerateKey returns a new random AES-256 key in standard base64.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("codec: generate a key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// NewKeyLine returns a keyring entry "id=base64key" with a new random key.
func NewKeyLine(id string) (string, error) {
	if !validKeyID(id) {
		return "", errors.New("codec: invalid key id: want 1 to 64 of A-Z a-z 0-9 . _ -")
	}
	k, err := GenerateKey()
	if err != nil {
		return "", err
	}
	return id + "=" + k, nil
}

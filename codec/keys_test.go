package codec

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// env is a lookup over a map.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// randomSecret returns n random bytes.
func randomSecret(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// testKey returns a random key named id.
func testKey(t *testing.T, id string) Key {
	t.Helper()
	k, err := NewKey(id, randomSecret(t, KeySize))
	require.NoError(t, err)
	return k
}

// requireNoKeyMaterial fails t if s holds any of secrets, or a 12-character
// piece of one.
func requireNoKeyMaterial(t *testing.T, s string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		for i := 0; i+12 <= len(secret); i++ {
			require.NotContains(t, s, secret[i:i+12], "key material in %q", s)
		}
	}
}

func TestParseKeys(t *testing.T) {
	a := randomSecret(t, KeySize)
	b := randomSecret(t, KeySize)
	ones := bytes.Repeat([]byte{0xff}, KeySize) // "/" in standard base64, "_" in URL base64
	std, raw := base64.StdEncoding.EncodeToString, base64.RawStdEncoding.EncodeToString
	url, rawURL := base64.URLEncoding.EncodeToString, base64.RawURLEncoding.EncodeToString
	require.Contains(t, rawURL(ones), "_")

	for _, tc := range []struct {
		name string
		in   string
		want []Key
	}{
		{"one", "k1=" + std(a), []Key{{"k1", a}}},
		{"comma list, order kept", "new=" + std(b) + ",old=" + std(a), []Key{{"new", b}, {"old", a}}},
		{"spaces", "  new = " + std(b) + " ,\told=" + std(a) + "  ", []Key{{"new", b}, {"old", a}}},
		{"lines, comments, blanks", "# keyring\n\nk-2026.05=" + raw(b) + "  # current, rotated in May\r\n# k0=retired\nk_1=" + std(a) + ",\n", []Key{{"k-2026.05", b}, {"k_1", a}}},
		{"unpadded", "k=" + raw(a), []Key{{"k", a}}},
		{"url padded", "k=" + url(ones), []Key{{"k", ones}}},
		{"url unpadded", "k=" + rawURL(ones), []Key{{"k", ones}}},
		{"64-character id", strings.Repeat("x", 64) + "=" + std(a), []Key{{strings.Repeat("x", 64), a}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeys(tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	mixed := std(ones)[:10] + rawURL(ones)[10:]
	short := std(randomSecret(t, 16))
	long := std(randomSecret(t, 48))
	for _, tc := range []struct {
		name    string
		in      string
		wantErr string
		secrets []string
	}{
		{"empty", "", "no keys", nil},
		{"comments only", "# nothing\n\n , ,", "no keys", nil},
		{"key without id", std(a)[:43], "entry 1 (line 1): want id=base64key", []string{std(a)}},
		{"padded key without id", std(a), "entry 1 (line 1): want id=base64key, the key is empty", []string{std(a)}},
		{"empty key", "k1=" + std(a) + "\nk2=", "entry 2 (line 2): want id=base64key, the key is empty", []string{std(a)}},
		{"bad id", "my key=" + std(a), "entry 1 (line 1): invalid key id", []string{std(a)}},
		{"id too long", strings.Repeat("x", 65) + "=" + std(a), "invalid key id", []string{std(a)}},
		{"id is a key", raw(ones) + "=" + std(a), "invalid key id", []string{std(a), raw(ones)}},
		{"duplicate id", "k=" + std(a) + ",k=" + std(b), `entry 2 (line 1): duplicate key id "k"`, []string{std(a), std(b)}},
		{"short key", "k=" + std(a) + "\n\nshort=" + short, `entry 2 (line 3): key "short" is 16 bytes, want 32`, []string{std(a), short}},
		{"long key", "long=" + long, `key "long" is 48 bytes, want 32`, []string{long}},
		{"not base64", "k=" + std(a)[:20] + "!!" + std(a)[22:], `key "k" is not valid base64`, []string{std(a)}},
		{"mixed alphabets", "k=" + mixed, `key "k" is not valid base64`, []string{mixed}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKeys(tc.in)
			require.Error(t, err)
			require.Nil(t, got)
			require.Contains(t, err.Error(), tc.wantErr)
			requireNoKeyMaterial(t, err.Error(), tc.secrets...)
		})
	}
}

func TestNewKey(t *testing.T) {
	secret := randomSecret(t, KeySize)
	k, err := NewKey("k1", secret)
	require.NoError(t, err)
	require.Equal(t, "k1", k.ID())
	secret[0]++ // NewKey copied it
	require.NotEqual(t, secret, k.secret)

	_, err = NewKey("k1", secret[:31])
	require.EqualError(t, err, `codec: key "k1" is 31 bytes, want 32`)
	_, err = NewKey("", secret)
	require.ErrorContains(t, err, "invalid key id")
	_, err = NewKey("a/b", secret)
	require.ErrorContains(t, err, "invalid key id")
}

func TestKeyPrintsNoSecret(t *testing.T) {
	k := testKey(t, "k1")
	keys := []Key{k, testKey(t, "k2")}
	out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v", k, k, k, k, keys, keys, keys)
	require.Contains(t, out, "codec.Key(k1)")
	require.Contains(t, out, "codec.Key(k2)")
	for _, key := range keys {
		requireNoKeyMaterial(t, out, base64.StdEncoding.EncodeToString(key.secret), fmt.Sprintf("%x", key.secret))
		require.NotContains(t, out, string(key.secret[:8]))
		require.NotContains(t, out, fmt.Sprint(key.secret[:4])[1:]) // "[1 2 3 4" without the bracket
	}
}

func TestKeysFromEnv(t *testing.T) {
	a := base64.StdEncoding.EncodeToString(randomSecret(t, KeySize))
	b := base64.StdEncoding.EncodeToString(randomSecret(t, KeySize))
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	require.NoError(t, os.WriteFile(file, []byte("# rotated 2026-05\nnew="+b+"\nold="+a+"\n"), 0o600))
	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.WriteFile(bad, []byte("new="+b[:30]+"\n"), 0o600))

	for _, vars := range []map[string]string{nil, {EnvKeys: "", EnvKeysFile: " "}} {
		keys, err := KeysFromEnv(env(vars))
		require.NoError(t, err)
		require.Nil(t, keys, "codec off")
	}

	keys, err := KeysFromEnv(env(map[string]string{EnvKeys: "new=" + b + ",old=" + a}))
	require.NoError(t, err)
	require.Equal(t, []string{"new", "old"}, ids(keys))

	keys, err = KeysFromEnv(env(map[string]string{EnvKeysFile: file, EnvKeys: ""}))
	require.NoError(t, err)
	require.Equal(t, []string{"new", "old"}, ids(keys))

	_, err = KeysFromEnv(env(map[string]string{EnvKeys: "new=" + b, EnvKeysFile: file}))
	require.EqualError(t, err, "codec: set PAYLOAD_ENCRYPTION_KEYS or PAYLOAD_ENCRYPTION_KEYS_FILE, not both")

	_, err = KeysFromEnv(env(map[string]string{EnvKeys: "new=" + b[:30]}))
	require.ErrorContains(t, err, `PAYLOAD_ENCRYPTION_KEYS: codec: key entry 1 (line 1): key "new" is 22 bytes, want 32`)
	requireNoKeyMaterial(t, err.Error(), b)

	_, err = KeysFromEnv(env(map[string]string{EnvKeysFile: bad}))
	require.ErrorContains(t, err, "PAYLOAD_ENCRYPTION_KEYS_FILE="+bad+`: codec: key entry 1 (line 1): key "new"`)
	requireNoKeyMaterial(t, err.Error(), b)

	_, err = KeysFromEnv(env(map[string]string{EnvKeysFile: filepath.Join(dir, "missing")}))
	require.ErrorContains(t, err, "PAYLOAD_ENCRYPTION_KEYS_FILE: read the keyring")
}

func TestGenerateKeyAndNewKeyLine(t *testing.T) {
	k1, err := GenerateKey()
	require.NoError(t, err)
	k2, err := GenerateKey()
	require.NoError(t, err)
	require.NotEqual(t, k1, k2)
	b, err := base64.StdEncoding.DecodeString(k1)
	require.NoError(t, err)
	require.Len(t, b, KeySize)

	line, err := NewKeyLine("k-2026.05")
	require.NoError(t, err)
	keys, err := ParseKeys(line)
	require.NoError(t, err)
	require.Equal(t, []string{"k-2026.05"}, ids(keys))

	_, err = NewKeyLine("bad id")
	require.ErrorContains(t, err, "invalid key id")
}

// ids returns the keys' ids.
func ids(keys []Key) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.ID())
	}
	return out
}

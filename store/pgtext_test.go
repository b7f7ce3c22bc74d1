package store

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPgText(t *testing.T) {
	require.Equal(t, "plain ü", pgText("plain ü"))
	require.Equal(t, "ab", pgText("a\x00b"))
	require.Equal(t, "a\uFFFDb", pgText("a\xffb"))
}

func TestPgJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"plain"}`:                 `{"a":"plain"}`,
		`{"a":"\u0000"}`:                `{"a":"\ufffd"}`,
		`{"a":"x\u0000y\u0000"}`:        `{"a":"x\ufffdy\ufffd"}`,
		`{"a":"\\u0000"}`:               `{"a":"\\u0000"}`,
		`{"a":"\\\u0000"}`:              `{"a":"\\\ufffd"}`,
		`{"a":"\ud800"}`:                `{"a":"\ufffd"}`,
		`{"a":"\ud800\u0041"}`:          `{"a":"\ufffd\u0041"}`,
		`{"a":"\udc00x"}`:               `{"a":"\ufffdx"}`,
		`{"a":"\ud83d\ude00"}`:          `{"a":"\ud83d\ude00"}`,
		`{"a":"\ud83d\ud83d\ude00"}`:    `{"a":"\ufffd\ud83d\ude00"}`,
		`{"\u0000":1,"b":"\u00e9\n\""}`: `{"\ufffd":1,"b":"\u00e9\n\""}`,
		"{\"a\":\"\xff\"}":              "{\"a\":\"\uFFFD\"}",
	} {
		got := pgJSON(in)
		require.Equal(t, want, got, in)
		require.True(t, json.Valid([]byte(got)), got)
	}
}

func FuzzPgJSON(f *testing.F) {
	f.Add("nul \x00, quote \", backslash-u \\u0000, bad \xff, emoji 😀")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		in := string(b)
		out := pgJSON(in)
		var decodedIn, decodedOut string
		require.NoError(t, json.Unmarshal([]byte(in), &decodedIn))
		require.NoError(t, json.Unmarshal([]byte(out), &decodedOut), "%q -> %q", in, out)
		require.Equal(t, strings.ReplaceAll(decodedIn, "\x00", "\uFFFD"), decodedOut)
	})
}

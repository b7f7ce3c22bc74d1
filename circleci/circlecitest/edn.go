package circlecitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// writeEDN answers v with the JSON value rewritten as Clojure EDN, as CircleCI
// v1.1 does for requests that do not ask for JSON.
func writeEDN(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	var val any
	if err == nil {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		err = d.Decode(&val)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, msgInternal)
		return
	}
	var sb strings.Builder
	toEDN(&sb, val)
	w.Header().Set("Content-Type", "application/edn;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(sb.String()))
}

// toEDN writes a decoded JSON value as EDN: objects become maps with keyword
// keys (sorted), arrays vectors, null nil.
func toEDN(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		sb.WriteString("nil")
	case bool:
		if v {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case json.Number:
		sb.WriteString(v.String())
	case string:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		sb.WriteString(strings.TrimSuffix(buf.String(), "\n"))
	case []any:
		sb.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				sb.WriteByte(' ')
			}
			toEDN(sb, e)
		}
		sb.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		sb.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(":" + k + " ")
			toEDN(sb, v[k])
		}
		sb.WriteByte('}')
	}
}

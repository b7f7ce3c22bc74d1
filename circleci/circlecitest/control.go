package circlecitest

import (
	"encoding/json"
	"io"
	"net/http"
)

// controlPrefix is where the control API lives. It is not part of CircleCI:
// it needs no token, sees no faults and is not counted in Stats.
//
//	GET  /_fake/health          {"ok":true,"now":...}
//	GET  /_fake/stats           Stats
//	POST /_fake/stats/reset     zero the counters; answers the Stats before
//	GET  /_fake/dataset         Dataset
//	GET  /_fake/expected        Expected for ?token= (default: the full token)
//	POST /_fake/advance         body Advance (JSON, may be empty); answers AdvanceResult
//	GET  /_fake/faults          Faults in force
//	PUT  /_fake/faults          body Faults; answers the Faults now in force (POST works too)
const controlPrefix = "/_fake/"

// maxControlBody bounds the JSON bodies the control API reads.
const maxControlBody = 1 << 20

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path[len(controlPrefix):]
	switch {
	case path == "health" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "now": s.Now()})
	case path == "stats" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Stats())
	case path == "stats/reset" && r.Method == http.MethodPost:
		writeJSON(w, http.StatusOK, s.ResetStats())
	case path == "dataset" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Dataset())
	case path == "expected" && r.Method == http.MethodGet:
		token := r.URL.Query().Get("token")
		if token == "" {
			token = s.opts.Token
		}
		writeJSON(w, http.StatusOK, s.Expected(token))
	case path == "advance" && r.Method == http.MethodPost:
		var a Advance
		if !readJSONBody(w, r, &a) {
			return
		}
		writeJSON(w, http.StatusOK, s.Advance(a))
	case path == "faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.Faults())
	case path == "faults" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var f Faults
		if !readJSONBody(w, r, &f) {
			return
		}
		writeJSON(w, http.StatusOK, s.SetFaults(f))
	default:
		writeError(w, http.StatusNotFound, msgNotFound)
	}
}

// readJSONBody decodes the request body into v; an empty body leaves v as
// is. It answers 400 and returns false on a malformed body.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxControlBody))
	if err == nil && len(b) > 0 {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

package circlecitest

import (
	"encoding/json"
	"io"
	"net/http"
)

// controlPrefix is where the control API lives: health, stats, stats/reset, dataset,
// expected (?token=), advance (POST Advance), webhooks (DeliveryStats) and faults (GET, PUT Faults). It is not
// CircleCI's: no token, no faults, not counted in Stats.
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
	case path == "webhooks" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.DeliveryStats())
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

// readJSONBody decodes a non-empty body into v, answering 400 when it is malformed.
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

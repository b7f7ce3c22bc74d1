package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
)

// hookLog records, at the receiver's door, the first arrival of each event
// and the workflow it names, and counts the answers by status.
type hookLog struct {
	mu      sync.Mutex
	arrived map[string]hookArrival // by event id
	status  map[int]int
}

// hookArrival is an event's first arrival.
type hookArrival struct {
	at       time.Time
	workflow string
	pipeline string
}

func newHookLog() *hookLog {
	return &hookLog{arrived: map[string]hookArrival{}, status: map[int]int{}}
}

// statusWriter keeps the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

// wrap records each request before h handles it.
func (l *hookLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var ev struct {
			ID       string              `json:"id"`
			Workflow struct{ ID string } `json:"workflow"`
			Pipeline struct{ ID string } `json:"pipeline"`
		}
		_ = json.Unmarshal(body, &ev)
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.status[sw.code]++
		if _, ok := l.arrived[ev.ID]; !ok && ev.ID != "" {
			l.arrived[ev.ID] = hookArrival{at: at, workflow: ev.Workflow.ID, pipeline: ev.Pipeline.ID}
		}
	})
}

// since returns the arrivals after t and the answers counted so far.
func (l *hookLog) since(t time.Time) ([]hookArrival, map[int]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []hookArrival
	for _, a := range l.arrived {
		if !a.at.Before(t) {
			out = append(out, a)
		}
	}
	st := map[int]int{}
	for k, v := range l.status {
		st[k] = v
	}
	return out, st
}

// wfWant is a workflow's truth: its status and number of jobs.
type wfWant struct {
	status string
	jobs   int
}

// wantOf returns the truth of the workflows ids.
func wantOf(ex circlecitest.Expected, ids []string) map[string]wfWant {
	want := map[string]wfWant{}
	for _, w := range ex.Workflows {
		if slices.Contains(ids, w.ID) {
			want[w.ID] = wfWant{status: w.Status}
		}
	}
	for _, j := range ex.Jobs {
		if w, ok := want[j.WorkflowID]; ok {
			w.jobs++
			want[j.WorkflowID] = w
		}
	}
	return want
}

// watchRows polls db every 25 ms until each workflow of want is stored with
// its status and jobs, or timeout; it returns when each first was.
func watchRows(ctx context.Context, db *sql.DB, want map[string]wfWant, timeout time.Duration) map[string]time.Time {
	seen := map[string]time.Time{}
	end := time.Now().Add(timeout)
	for len(seen) < len(want) && time.Now().Before(end) && ctx.Err() == nil {
		var ids []string
		for id := range want {
			if _, ok := seen[id]; !ok {
				ids = append(ids, "'"+id+"'") // UUIDs from the fake
			}
		}
		got, err := storedWorkflows(ctx, db, strings.Join(ids, ","))
		now := time.Now()
		if err == nil {
			for id, g := range got {
				if g == want[id] {
					seen[id] = now
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return seen
}

// storedWorkflows reads the status and job count of the workflows in list.
func storedWorkflows(ctx context.Context, db *sql.DB, list string) (map[string]wfWant, error) {
	got := map[string]wfWant{}
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT w.id, w.status, (SELECT COUNT(*) FROM circleci_jobs j
		WHERE j.workflow_id = w.id) FROM circleci_workflows w WHERE w.id IN (%s)`, list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var w wfWant
		if err := rows.Scan(&id, &w.status, &w.jobs); err != nil {
			return nil, err
		}
		got[id] = w
	}
	return got, rows.Err()
}

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/circleci-sync/circleci-sync/circleci/circlecitest"
	"github.com/circleci-sync/circleci-sync/circleci/webhooks"
)

// connectionOf returns the connection whose org holds the project slug.
func (h *hookBench) connectionOf(slug string) string {
	for _, in := range h.ins {
		if webhooks.InOrg(in.OrgSlug, slug) {
			return in.ConnectionID
		}
	}
	return ""
}

// settle waits until the fake has answered no request for 1.5 s.
func (h *hookBench) settle() {
	last, quiet := h.fake.Stats().Total, time.Now()
	for time.Since(quiet) < 1500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
		if n := h.fake.Stats().Total; n != last {
			last, quiet = n, time.Now()
		}
	}
}

// ownLists is the number of requests of one fetch of each pipeline: the
// pipeline, its workflow pages and each workflow's job pages.
func ownLists(ex circlecitest.Expected, pipelines []string) int64 {
	pages := func(n int) int64 { return int64(max(1, (n+circlecitest.PageSize-1)/circlecitest.PageSize)) }
	var n int64
	for _, p := range pipelines {
		var wfs []string
		for _, w := range ex.Workflows {
			if w.PipelineID == p {
				wfs = append(wfs, w.ID)
			}
		}
		n += 1 + pages(len(wfs))
		for _, j := range wantOf(ex, wfs) {
			n += pages(j.jobs)
		}
	}
	return n
}

// pct is the q-quantile of ds (nearest rank), rounded to the millisecond.
func pct(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := min(len(s)-1, max(0, int(float64(len(s))*q+0.999999)-1))
	return s[i].Round(time.Millisecond)
}

// eventBody is a workflow-completed event of w with id.
func eventBody(id string, w circlecitest.Workflow) []byte {
	slug := strings.Replace(strings.Replace(w.ProjectSlug, "gh/", "github/", 1), "bb/", "bitbucket/", 1)
	body, _ := json.Marshal(map[string]any{
		"id": id, "type": webhooks.WorkflowCompleted, "happened_at": time.Now().UTC(),
		"project":  map[string]any{"id": "p", "slug": slug, "name": "p"},
		"workflow": map[string]any{"id": w.ID, "name": w.Name, "status": w.Status},
		"pipeline": map[string]any{"id": w.PipelineID, "number": 1},
	})
	return body
}

// signedPost posts body signed with secret and returns the status.
func signedPost(url, secret string, body []byte) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set(webhooks.SignatureHeader, webhooks.Sign([]byte(secret), body))
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// countCodes counts the statuses.
func countCodes(codes []int) map[int]int {
	out := map[int]int{}
	for _, c := range codes {
		out[c]++
	}
	return out
}

// namedWorkflows are the distinct workflows the arrivals name.
func namedWorkflows(as []hookArrival) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.workflow)
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// span returns the first and last arrival times.
func span(as []hookArrival) (first, last time.Time) {
	for _, a := range as {
		if first.IsZero() || a.at.Before(first) {
			first = a.at
		}
		if a.at.After(last) {
			last = a.at
		}
	}
	return first, last
}

// latest is the latest of the times.
func latest(ts map[string]time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

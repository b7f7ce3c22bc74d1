package circlecitest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// RouteJobTests is the Stats key of a job's test results.
const RouteJobTests = "GET /api/v2/project/{project-slug}/{job-number}/tests"

// DefaultMaxTestsPerJob bounds the results of a job with tests when
// Options.MaxTestsPerJob is 0.
const DefaultMaxTestsPerJob = 30

// testRoutes are the test-results operations the fake answers.
var testRoutes = []apiRoute{
	{key: RouteJobTests, short: "job_tests", list: true, handle: withProject((*Server).handleJobTests)},
}

// Which jobs have tests, and how many, derives from the job (jobHash): jobs named
// like tests have 1..MaxTestsPerJob results, one in oversizedEvery of them stands
// for a job with over 250 MB of test data (CircleCI answers it with no results),
// and Options.BigTestJob gives one job that many results.
const oversizedEvery = 16

// testCount returns how many results job j has and whether CircleCI answers none
// for it (the over-250-MB case).
func (w *world) testCount(j *Job) (n int, oversized bool) {
	if j.JobNumber != nil && *j.JobNumber == w.bigTestJob && w.opts.BigTestJob > 0 {
		return w.opts.BigTestJob, false
	}
	if !strings.Contains(j.Name, "test") {
		return 0, false
	}
	h := jobHash(j.ID, "tests")
	return 1 + int(h%uint64(w.opts.MaxTestsPerJob)), (h/1000)%oversizedEvery == 0
}

func (s *Server) handleJobTests(w http.ResponseWriter, r *http.Request, a routeArgs, pr principal, i int) {
	nj, ok := s.lookupJob(w, i, a.number)
	if !ok {
		return
	}
	n, oversized := s.w.testCount(nj.job)
	if oversized {
		n = 0
	}
	sc := scope("job-tests", pr.name, nj.job.ID)
	servePage(s, w, r, sc, func(after *cursor) ([]int, *cursor, bool) {
		start := 0
		if after != nil { // the cursor's t is the last ordinal sent
			if after.t < 0 || after.t >= int64(n) {
				return nil, nil, false
			}
			start = int(after.t) + 1
		}
		end := min(start+PageSize, n)
		page := make([]int, 0, end-start)
		for k := start; k < end; k++ {
			page = append(page, k)
		}
		var next *cursor
		if end < n {
			next = &cursor{t: int64(end - 1)}
		}
		return page, next, true
	}, func(k int) wireTest { return testResult(nj.job, k) })
}

// wireTest is one item of TestsResponse; message is null for a test that passed.
type wireTest struct {
	Message   *string `json:"message"`
	Source    string  `json:"source"`
	RunTime   float64 `json:"run_time"`
	File      string  `json:"file"`
	Result    string  `json:"result"`
	Name      string  `json:"name"`
	Classname string  `json:"classname"`
}

// testResult derives result k of job j. Names come from the job's name, so a job
// run again (a rerun) reports the same tests; a failed job fails one of them.
func testResult(j *Job, k int) wireTest {
	h := jobHash(j.ID, "test"+strconv.Itoa(k))
	suite := k / 10
	t := wireTest{Source: "junit", RunTime: float64(h%5000) / 1000,
		File:      fmt.Sprintf("src/%s/suite_%d_test.go", j.Name, suite),
		Classname: fmt.Sprintf("acme.%s.Suite%d", strings.ReplaceAll(j.Name, "-", "_"), suite),
		Name:      fmt.Sprintf("test_case_%d", k), Result: "success"}
	n := jobHash(j.ID, "tests")
	switch {
	case j.Status == jobStatusFailed && uint64(k) == n%7:
		t.Result = "failure"
		msg := fmt.Sprintf("assertion failed: %s expected %d, got %d", t.Name, h%100, h%100+1)
		t.Message = &msg
	case h%23 == 0:
		t.Result = "skipped"
	}
	return t
}

// TestsTruth is what a sync that includes tests stores for one job: its results in
// CircleCI's order (none for the over-250-MB case, Oversized).
type TestsTruth struct {
	ProjectSlug string     `json:"project_slug"`
	Number      int64      `json:"number"`
	Oversized   bool       `json:"oversized,omitempty"`
	Results     []wireTest `json:"results"`
}

// ExpectedTests returns the test results of every terminal numbered job the token
// sees that a sync lists (terminalNumbered) and whose name keep accepts (nil: all),
// by project then number (an opt-in kind: not in Expected). Requests is the least
// number of requests that reads them: a page per PageSize results, at least one.
func (s *Server) ExpectedTests(token string, keep func(name string) bool) (out []TestsTruth, requests int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pr, ok := s.principalFor(token)
	if !ok {
		return nil, 0
	}
	for i := 0; i < pr.visible; i++ {
		for _, nj := range s.terminalNumbered(i) {
			if keep != nil && !keep(nj.job.Name) {
				continue
			}
			n, oversized := s.w.testCount(nj.job)
			t := TestsTruth{ProjectSlug: s.w.projects[i].Slug, Number: *nj.job.JobNumber, Oversized: oversized,
				Results: []wireTest{}}
			if oversized {
				n = 0
			}
			for k := range n {
				t.Results = append(t.Results, testResult(nj.job, k))
			}
			requests += pages(n)
			out = append(out, t)
		}
	}
	return out, requests
}

package circlecitest

import (
	"hash/fnv"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RouteJobDetails is the Stats key of a job's details.
const RouteJobDetails = "GET /api/v2/project/{project-slug}/job/{job-number}"

// jobDetailsRoutes are the job-details operations the fake answers.
var jobDetailsRoutes = []apiRoute{
	{key: RouteJobDetails, short: "job_details", handle: withProject((*Server).handleJobDetails)},
}

// numberedJob is a job with a number and the newest workflow that lists it (a
// rerun from failed lists a successful job again, same id and number).
type numberedJob struct {
	job    *Job
	latest *Workflow
}

// indexJobNumbers rebuilds w.numbered from the workflows' job lists.
func (w *world) indexJobNumbers() {
	w.numbered = make([]map[int64]numberedJob, len(w.projects))
	for i := range w.numbered {
		w.numbered[i] = map[int64]numberedJob{}
	}
	for wfID, jobs := range w.jobsByWf {
		wf := w.workflows[wfID]
		for _, j := range jobs {
			if j.JobNumber == nil {
				continue
			}
			idx := w.numbered[w.pipelineProj[j.PipelineID]]
			n, ok := idx[*j.JobNumber]
			if !ok || wf.CreatedAt.After(n.latest.CreatedAt) ||
				(wf.CreatedAt.Equal(n.latest.CreatedAt) && wf.ID > n.latest.ID) {
				idx[*j.JobNumber] = numberedJob{job: w.jobs[j.ID], latest: wf}
			}
		}
	}
}

// pickBigTestJob picks Options.BigTestJob's job, once: the first project's
// highest-numbered finished test job (in a recent pipeline: never expired nor broken).
func (w *world) pickBigTestJob() {
	for n, nj := range w.numbered[0] {
		if nj.job != nil && strings.Contains(nj.job.Name, "test") && isTerminalJob(nj.job.Status) && n > w.bigTestJob {
			w.bigTestJob = n
		}
	}
}

// lookupJob finds the project's job numbered number, or answers 404 as CircleCI does
// for a number it does not know or a job past retention.
func (s *Server) lookupJob(w http.ResponseWriter, i int, number string) (numberedJob, bool) {
	n, err := strconv.ParseInt(number, 10, 64)
	nj, ok := s.w.numbered[i][n]
	if err != nil || !ok || nj.job == nil || s.sets.expired[nj.job.PipelineID] {
		writeError(w, http.StatusNotFound, msgNotFound)
		return numberedJob{}, false
	}
	return nj, true
}

func (s *Server) handleJobDetails(w http.ResponseWriter, _ *http.Request, a routeArgs, _ principal, i int) {
	if nj, ok := s.lookupJob(w, i, a.number); ok {
		writeJSON(w, http.StatusOK, s.w.jobDetails(i, nj))
	}
}

// wireJobDetails is the answer of getJobDetails (the fields the spec requires and
// those the sync reads); stopped_at and duration are left out while running.
type wireJobDetails struct {
	WebURL         string           `json:"web_url"`
	Project        wireDetailsProj  `json:"project"`
	ParallelRuns   []wireParallel   `json:"parallel_runs"`
	StartedAt      *wireTime        `json:"started_at"`
	LatestWorkflow wireIDName       `json:"latest_workflow"`
	Name           string           `json:"name"`
	Executor       wireExecutor     `json:"executor"`
	Parallelism    int64            `json:"parallelism"`
	Status         string           `json:"status"`
	Number         int64            `json:"number"`
	Pipeline       wireID           `json:"pipeline"`
	Duration       *int64           `json:"duration"`
	CreatedAt      wireTime         `json:"created_at"`
	Messages       []wireJobMessage `json:"messages"`
	Contexts       []wireName       `json:"contexts"`
	Organization   wireName         `json:"organization"`
	QueuedAt       wireTime         `json:"queued_at"`
	StoppedAt      *wireTime        `json:"stopped_at,omitempty"`
}

type (
	wireDetailsProj struct {
		ID          string `json:"id"`
		Slug        string `json:"slug"`
		Name        string `json:"name"`
		ExternalURL string `json:"external_url"`
	}
	wireParallel struct {
		Index  int64  `json:"index"`
		Status string `json:"status"`
	}
	wireIDName struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	wireExecutor struct {
		ResourceClass string `json:"resource_class"`
		Type          string `json:"type,omitempty"`
	}
	wireID struct {
		ID string `json:"id"`
	}
	wireName struct {
		Name string `json:"name"`
	}
	wireJobMessage struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}
)

// resourceClasses and executorTypes are what jobs run on, picked per job.
var (
	resourceClasses = []string{"small", "medium", "medium+", "large", "xlarge", "arm.medium", "macos.m1.medium.gen1"}
	executorTypes   = []string{"docker", "docker", "docker", "machine", "macos", ""}
	contextNames    = []string{"aws-prod", "npm-publish", "slack", "docker-hub"}
)

// jobHash is a job's own deterministic number: its details and tests derive from it
// (so they need no state, and the world's random stream is untouched).
func jobHash(id string, salt string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(salt))
	h.Write([]byte(id))
	return h.Sum64()
}

// jobDetails derives the details of the project's numbered job nj.
func (w *world) jobDetails(i int, nj numberedJob) wireJobDetails {
	j, p, h := nj.job, w.projects[i], jobHash(nj.job.ID, "details")
	d := wireJobDetails{
		WebURL:         "https://app.circleci.com/pipelines/" + p.Slug + "/jobs/" + strconv.FormatInt(*j.JobNumber, 10),
		Project:        wireDetailsProj{ID: p.ID, Slug: p.Slug, Name: p.Name, ExternalURL: p.VCSInfo.VCSURL},
		LatestWorkflow: wireIDName{ID: nj.latest.ID, Name: nj.latest.Name},
		Name:           j.Name, Status: j.Status, Number: *j.JobNumber,
		Executor:     wireExecutor{ResourceClass: resourceClasses[h%7], Type: executorTypes[(h/7)%6]},
		Parallelism:  int64(1 + (h/42)%4),
		Pipeline:     wireID{ID: j.PipelineID},
		Messages:     []wireJobMessage{},
		Contexts:     []wireName{},
		Organization: wireName{Name: w.projectOrg[i].name},
	}
	for k := range (h / 168) % 3 {
		d.Contexts = append(d.Contexts, wireName{Name: contextNames[(int(h>>20)+int(k))%len(contextNames)]})
	}
	queued := j.StartedAt.Add(-time.Duration((h>>32)%180_000) * time.Millisecond).Truncate(time.Millisecond)
	d.QueuedAt, d.CreatedAt = wireTime(queued), wireTime(queued.Add(-time.Second))
	d.StartedAt = wtp(j.StartedAt)
	for k := range d.Parallelism {
		d.ParallelRuns = append(d.ParallelRuns, wireParallel{Index: k, Status: j.Status})
	}
	if j.StoppedAt != nil {
		d.StoppedAt = wtp(j.StoppedAt)
		ms := j.StoppedAt.Sub(*j.StartedAt).Milliseconds()
		d.Duration = &ms
	}
	return d
}

// JobDetailsTruth is what a sync that includes job details stores for one job.
type JobDetailsTruth struct {
	ProjectSlug    string     `json:"project_slug"`
	Number         int64      `json:"number"`
	JobID          string     `json:"job_id"`
	LatestWorkflow string     `json:"latest_workflow"`
	Status         string     `json:"status"`
	QueuedAt       time.Time  `json:"queued_at"`
	StartedAt      time.Time  `json:"started_at"`
	StoppedAt      *time.Time `json:"stopped_at"`
	DurationMS     *int64     `json:"duration_ms"`
	ExecutorType   string     `json:"executor_type"`
	ResourceClass  string     `json:"resource_class"`
	Parallelism    int64      `json:"parallelism"`
	Contexts       []string   `json:"contexts"`
	WebURL         string     `json:"web_url"`
}

// ExpectedJobDetails returns the details of every terminal numbered job the token
// sees that a sync lists (terminalNumbered), by project then number: what a
// complete sync that includes job details stores (an opt-in kind: not in Expected).
func (s *Server) ExpectedJobDetails(token string) []JobDetailsTruth {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []JobDetailsTruth{}
	pr, ok := s.principalFor(token)
	if !ok {
		return out
	}
	for i := 0; i < pr.visible; i++ {
		for _, nj := range s.terminalNumbered(i) {
			d := s.w.jobDetails(i, nj)
			t := JobDetailsTruth{ProjectSlug: s.w.projects[i].Slug, Number: d.Number, JobID: nj.job.ID,
				LatestWorkflow: d.LatestWorkflow.ID, Status: d.Status, QueuedAt: time.Time(d.QueuedAt),
				StartedAt: time.Time(*d.StartedAt), StoppedAt: nj.job.StoppedAt, DurationMS: d.Duration,
				ExecutorType: d.Executor.Type, ResourceClass: d.Executor.ResourceClass,
				Parallelism: d.Parallelism, Contexts: []string{}, WebURL: d.WebURL}
			for _, c := range d.Contexts {
				t.Contexts = append(t.Contexts, c.Name)
			}
			out = append(out, t)
		}
	}
	return out
}

// terminalNumbered returns project i's terminal numbered build jobs a sync lists:
// outside expired pipelines and those whose workflow list is broken, by number.
// Must be called with s.mu held.
func (s *Server) terminalNumbered(i int) []numberedJob {
	var out []numberedJob
	for _, n := range slices.Sorted(maps.Keys(s.w.numbered[i])) {
		nj := s.w.numbered[i][n]
		if nj.job != nil && nj.job.Type == jobTypeBuild && isTerminalJob(nj.job.Status) &&
			!s.sets.expired[nj.job.PipelineID] && !s.sets.broken[nj.job.PipelineID] {
			out = append(out, nj)
		}
	}
	return out
}

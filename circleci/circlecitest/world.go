package circlecitest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"time"
)

// world is the fake's mutable dataset. It is guarded by Server.mu.
type world struct {
	opts Options
	now  time.Time
	rng  *rand.Rand // the data stream: generation, then every Advance

	orgs       []*org
	projects   []*Project
	projectOrg []*org
	slugIndex  map[string]int // canonical slug and aliases → project index

	users     []*User
	userByID  map[string]*User
	meFull    string
	meLimited string

	pipelines    map[string]*Pipeline
	pipelineProj map[string]int
	byProject    [][]*Pipeline // per project, newest first
	all          []*Pipeline   // all projects, newest first
	workflows    map[string]*Workflow
	wfByPipeline map[string][]*Workflow // newest first
	jobs         map[string]*Job
	jobsByWf     map[string][]*Job
	// numbered indexes each project's numbered jobs (indexJobNumbers).
	numbered []map[int64]numberedJob
	// bigTestJob is the number of Options.BigTestJob's job in the first project.
	bigTestJob int64

	nextPipelineNumber []int64
	nextJobNumber      []int64
	nextProject        int // round robin of Advance's new pipelines

	// Fault candidates, ranked once at construction from the rank stream.
	expiredRank []string // oldest pipelines first
	brokenRank  []string
	missingRank []string
}

// org is one organization of the dataset.
type org struct {
	slug, alias, name, id, vcsType, avatar string
}

var repoNames = []string{"api", "web-app", "billing", "infra", "mobile", "docs", "data-pipeline",
	"auth-service", "search", "notifications"}

// OddRepoNames are the repository names of Options.OddProjects, in turn
// (with a "-2", "-3", … suffix once they are used up).
var OddRepoNames = []string{
	"100% coverage",
	"my repo",
	"ünïcødé-日本",
	`say "hi" it's`,
	"x'; DROP TABLE circleci_pipelines; --",
	"a%2Fb+c&d=e?f#g",
	"emoji 🚀 [x] {y}",
	`back\slash;semi:colon`,
}

// OddOrgSlug and OddOrgName name the organization of every second odd project
// ("github/…" is accepted for "gh/…").
const (
	OddOrgSlug = "gh/ödd org's 100%"
	OddOrgName = `Ödd "Org"'; DROP TABLE circleci_projects; --`
)

var userNames = []struct{ login, name string }{
	{"jdoe", "Jane Doe"}, {"asmith", "Alex Smith"}, {"mchen", "Mei Chen"}, {"rpatel", "Ravi Patel"},
	{"lgarcia", "Lucía García"}, {"tnguyen", "Tuan Nguyen"}, {"okowalski", "Ola Kowalski"},
	{"bmueller", "Ben Müller"}, {"sokafor", "Sade Okafor"}, {"hyamamoto", "Hana Yamamoto"},
	{"dlopez", "Diego Lopez"}, {"ekim", "Eun Kim"},
}

var commitSubjects = []string{
	"Fix flaky test", "Bump dependencies", "Add retry to uploader", "Refactor config loading",
	"Update README", "Speed up CI cache", "Handle empty responses", "Add metrics endpoint",
	"Merge pull request", "Release prep", "Tidy logging", "Fix race in worker pool",
}

var featureBranches = []string{"feature/login-page", "feature/billing-v2", "fix/flaky-tests",
	"renovate/golang-1.x", "chore/deps", "feat/search-api"}

// newWorld generates the initial dataset from opts (already defaulted).
func newWorld(opts Options) *world {
	w := &world{
		opts:         opts,
		now:          opts.Now,
		rng:          newRand(opts.Seed, streamData),
		slugIndex:    map[string]int{},
		userByID:     map[string]*User{},
		pipelines:    map[string]*Pipeline{},
		pipelineProj: map[string]int{},
		workflows:    map[string]*Workflow{},
		wfByPipeline: map[string][]*Workflow{},
		jobs:         map[string]*Job{},
		jobsByWf:     map[string][]*Job{},
	}
	g := gen{w.rng}
	w.genUsers(g)
	w.genOrgs(g)
	w.genProjects(g)
	w.genPipelines(g)
	w.rank()
	w.indexJobNumbers()
	w.pickBigTestJob()
	return w
}

func (w *world) genUsers(g gen) {
	for i := range w.opts.Users {
		w.addUser(g, i)
	}
	w.meFull = w.users[0].ID
	if w.opts.LimitedToken != "" {
		w.meLimited = w.users[1%len(w.users)].ID
	}
}

// addUser adds the i-th user.
func (w *world) addUser(g gen, i int) *User {
	login, name := fmt.Sprintf("user%02d", i), fmt.Sprintf("User %d", i)
	if i < len(userNames) {
		login, name = userNames[i].login, userNames[i].name
	}
	u := &User{ID: g.uuid(), Login: login, Name: name}
	switch i % 10 {
	case 7:
		u.Name = login // name may equal the login
	case 9:
		u.Name = "" // or be empty
	}
	avatar := fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", 1000+g.intn(9_000_000))
	if i%4 != 3 {
		u.AvatarURL = &avatar
	}
	w.users = append(w.users, u)
	w.userByID[u.ID] = u
	return u
}

func (w *world) genOrgs(g gen) {
	gh := &org{slug: "gh/acme", alias: "github/acme", name: "acme", id: g.uuid(), vcsType: "github",
		avatar: fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", 1000+g.intn(9_000_000))}
	bb := &org{slug: "bb/acme", alias: "bitbucket/acme", name: "acme", id: g.uuid(), vcsType: "bitbucket",
		avatar: "https://bitbucket.org/account/acme/avatar/"}
	cci := &org{slug: "circleci/" + g.base58(22), name: "acme-gitlab", id: g.uuid(), vcsType: "circleci"}
	w.orgs = []*org{gh, bb, cci}
	if w.opts.OddProjects > 1 {
		w.orgs = append(w.orgs, &org{slug: OddOrgSlug, alias: "github/" + strings.TrimPrefix(OddOrgSlug, "gh/"),
			name: OddOrgName, id: g.uuid(), vcsType: "github", avatar: "https://avatars.githubusercontent.com/u/7?v=4"})
	}
}

func (w *world) genProjects(g gen) {
	for i := range w.opts.Projects {
		repo := repoNames[i%len(repoNames)]
		if i >= len(repoNames) {
			repo = fmt.Sprintf("%s-%d", repo, i/len(repoNames)+1)
		}
		o := w.orgs[i%3]
		if w.opts.OneOrg {
			o = w.orgs[0]
		}
		p := &Project{ID: g.uuid(), Name: repo, OrganizationName: o.name, OrganizationSlug: o.slug,
			OrganizationID: o.id, VCSType: o.vcsType}
		switch o.vcsType {
		case "github":
			p.Slug = o.slug + "/" + repo
			p.VCSInfo = VCSInfo{VCSURL: "https://github.com/acme/" + repo, Provider: "GitHub", DefaultBranch: "main"}
		case "bitbucket":
			p.Slug = o.slug + "/" + repo
			p.VCSInfo = VCSInfo{VCSURL: "https://bitbucket.org/acme/" + repo, Provider: "Bitbucket", DefaultBranch: "master"}
		default:
			p.Slug = o.slug + "/" + g.base58(22)
			p.VCSInfo = VCSInfo{VCSURL: "https://gitlab.com/acme-gitlab/" + repo, Provider: "CircleCI", DefaultBranch: "main"}
		}
		w.slugIndex[p.Slug] = i
		if o.alias != "" {
			w.slugIndex[o.alias+"/"+repo] = i
		}
		w.projects = append(w.projects, p)
		w.projectOrg = append(w.projectOrg, o)
		w.nextJobNumber = append(w.nextJobNumber, int64(1000+g.intn(9000)))
	}
	for k := range w.opts.OddProjects {
		repo := OddRepoNames[k%len(OddRepoNames)]
		if k >= len(OddRepoNames) {
			repo = fmt.Sprintf("%s-%d", repo, k/len(OddRepoNames)+1)
		}
		o := w.orgs[0]
		if k%2 == 1 {
			o = w.orgs[3]
		}
		login := strings.TrimPrefix(o.slug, "gh/")
		p := &Project{ID: g.uuid(), Name: repo, OrganizationName: o.name, OrganizationSlug: o.slug,
			OrganizationID: o.id, VCSType: o.vcsType, Slug: o.slug + "/" + repo,
			VCSInfo: VCSInfo{VCSURL: "https://github.com/" + url.PathEscape(login) + "/" + url.PathEscape(repo),
				Provider: "GitHub", DefaultBranch: "main"}}
		i := len(w.projects)
		w.slugIndex[p.Slug] = i
		w.slugIndex[o.alias+"/"+repo] = i
		w.projects = append(w.projects, p)
		w.projectOrg = append(w.projectOrg, o)
		w.nextJobNumber = append(w.nextJobNumber, int64(1000+g.intn(9000)))
	}
	w.byProject = make([][]*Pipeline, len(w.projects))
	w.nextPipelineNumber = make([]int64, len(w.projects))
}

// activeModes are given in turn to the newest pipelines of each project.
var activeModes = []string{modeRunning, modeOnHold, modeFailing}

func (w *world) genPipelines(g gen) {
	active := 0
	for pi := range w.projects {
		n := w.opts.PipelinesPerProject
		if pi == 0 && w.opts.BigProject > 0 {
			n = w.opts.BigProject
		}
		nActive := min(2, n)
		times := make([]time.Time, n-nActive)
		span := int64(60*24*time.Hour - 6*time.Hour)
		for k := range times {
			times[k] = w.now.Add(-6 * time.Hour).Add(-time.Duration(g.r.Int64N(span))).Truncate(time.Millisecond)
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		var made []*Pipeline
		for k, t := range times {
			errored := k%13 == 4
			made = append(made, w.newPipeline(g, pi, t, errored, modeTerminal, w.now))
		}
		for a := range nActive {
			t := w.now.Add(-time.Duration(nActive-a) * 12 * time.Minute).Add(-g.between(0, 10*time.Minute))
			mode := activeModes[active%len(activeModes)]
			active++
			made = append(made, w.newPipeline(g, pi, t, false, mode, w.now))
		}
		w.nextPipelineNumber[pi] = int64(1 + g.intn(300))
		w.addPipelines(pi, made)
	}
	w.assignJobNumbers()
	w.sortAll()
}

// modeTerminal asks newPipeline for workflows that all finished.
const modeTerminal = "terminal"

// OddWorkflowNames are the workflow names of odd projects with Options.OddWorkflowNames.
var OddWorkflowNames = []string{"build and test", "deploy/prod", "100% green", "ünï 🚀"}

// workflowName names the k-th workflow of pipeline p.
func (w *world) workflowName(p *Pipeline, k int) string {
	if w.opts.OddWorkflowNames && w.slugIndex[p.ProjectSlug] >= w.opts.Projects && k < len(OddWorkflowNames) {
		return OddWorkflowNames[k]
	}
	names := []string{"build-and-test", "deploy", "nightly", "security-scan"}
	if k < len(names) {
		return names[k]
	}
	return fmt.Sprintf("workflow-%d", k+1)
}

// terminalMode draws the final status of an old workflow.
func terminalMode(g gen) string {
	switch r := g.r.Float64(); {
	case r < 0.72:
		return modeSuccess
	case r < 0.87:
		return modeFailed
	case r < 0.95:
		return modeCanceled
	}
	return modeError
}

// newWorkflow makes a workflow of p (its number is filled in later) with its
// jobs, simulated in mode, created at created and seen at now.
func (w *world) newWorkflow(g gen, p *Pipeline, name string, setup bool, mode string, created, now time.Time) *Workflow {
	n := 1 + g.intn(w.opts.MaxJobsPerWorkflow)
	approval := strings.HasPrefix(name, "deploy") && g.chance(0.7)
	wide := false
	switch mode {
	case modeOnHold:
		approval = true
		n = max(n, 4)
	case modeFailing, modeRunning:
		wide = true
		n = max(n, 4)
	}
	if setup {
		n, approval = 1+g.intn(2), false
	}
	plan := g.planJobs(n, approval, wide)
	return w.runWorkflow(g, p, name, setup, plan, mode, created, now)
}

// runWorkflow simulates plan and stores the resulting workflow and jobs.
func (w *world) runWorkflow(g gen, p *Pipeline, name string, setup bool, plan []planJob, mode string, created, now time.Time) *Workflow {
	created = created.UTC().Truncate(time.Millisecond)
	wf := &Workflow{ID: g.uuid(), PipelineID: p.ID, PipelineNumber: p.Number, ProjectSlug: p.ProjectSlug,
		Name: name, StartedBy: pick(g, w.users).ID, CreatedAt: created}
	if setup {
		wf.Tag = "setup"
	}
	ids := make([]string, len(plan))
	for i := range plan {
		ids[i] = g.uuid()
	}
	states, status, stopped := g.simulate(plan, mode, created, now)
	wf.Status = status
	if stopped != nil {
		t := created.Add(*stopped).Truncate(time.Millisecond)
		wf.StoppedAt = &t
	}
	switch status {
	case workflowStatusCanceled:
		wf.CanceledBy = pick(g, w.users).ID
	case workflowStatusError:
		wf.ErroredBy = pick(g, w.users).ID
	}
	if status == workflowStatusFailed && g.chance(0.1) {
		wf.MaxAutoReruns, wf.AutoRerunNumber = 3, 1
	}
	withRequires := g.chance(0.5)
	jobs := make([]*Job, len(plan))
	for i, pj := range plan {
		j := w.newJob(g, wf, pj, states[i], ids, i, withRequires)
		jobs[i] = j
		w.jobs[j.ID] = j
	}
	w.workflows[wf.ID] = wf
	w.jobsByWf[wf.ID] = jobs
	return wf
}

// newJob makes job i of wf from its plan and simulated state; ids are the plan's job ids.
func (w *world) newJob(g gen, wf *Workflow, pj planJob, st jobState, ids []string, i int, withRequires bool) *Job {
	j := &Job{ID: ids[i], WorkflowID: wf.ID, PipelineID: wf.PipelineID, Name: pj.name, Type: jobTypeBuild,
		Status: st.status, ProjectSlug: wf.ProjectSlug, Dependencies: []string{}}
	for _, d := range pj.deps {
		j.Dependencies = append(j.Dependencies, ids[d])
	}
	if withRequires && len(pj.deps) > 0 {
		j.Requires = map[string][]string{}
		for _, d := range pj.deps {
			j.Requires[ids[d]] = []string{jobStatusSuccess}
		}
	}
	if st.started != nil {
		t := wf.CreatedAt.Add(*st.started).Truncate(time.Millisecond)
		j.StartedAt = &t
	}
	if st.stopped != nil {
		t := wf.CreatedAt.Add(*st.stopped).Truncate(time.Millisecond)
		j.StoppedAt = &t
	}
	if pj.approval {
		j.Type = jobTypeApproval
		j.ApprovalRequestID = j.ID
		if j.Status == jobStatusSuccess {
			j.ApprovedBy = pick(g, w.users).ID
		}
	}
	if j.Status == jobStatusCanceled {
		j.CanceledBy = wf.CanceledBy
	}
	return j
}

// addPipelines numbers the new pipelines of project pi (oldest first) and
// puts them at the front of the project's list.
func (w *world) addPipelines(pi int, ps []*Pipeline) {
	slices.SortStableFunc(ps, comparePipelinesOldestFirst)
	for _, p := range ps {
		p.Number = w.nextPipelineNumber[pi]
		w.nextPipelineNumber[pi]++
		for _, wf := range w.wfByPipeline[p.ID] {
			wf.PipelineNumber = p.Number
		}
		w.pipelines[p.ID] = p
		w.pipelineProj[p.ID] = pi
	}
	fresh := slices.Clone(ps)
	slices.Reverse(fresh)
	w.byProject[pi] = append(fresh, w.byProject[pi]...)
	w.all = append(w.all, ps...)
}

// comparePipelinesOldestFirst orders by created_at, then id.
func comparePipelinesOldestFirst(a, b *Pipeline) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// sortAll re-sorts the all-projects list newest first.
func (w *world) sortAll() {
	slices.SortFunc(w.all, func(a, b *Pipeline) int { return comparePipelinesOldestFirst(b, a) })
	for pi := range w.byProject {
		slices.SortFunc(w.byProject[pi], func(a, b *Pipeline) int { return comparePipelinesOldestFirst(b, a) })
	}
}

// assignJobNumbers numbers, per project and in start order, the build jobs
// that started but have no number yet. Approval jobs get none.
func (w *world) assignJobNumbers() {
	perProject := make([][]*Job, len(w.projects))
	for _, j := range w.jobs {
		if j.Type == jobTypeBuild && j.StartedAt != nil && j.JobNumber == nil {
			pi := w.pipelineProj[j.PipelineID]
			perProject[pi] = append(perProject[pi], j)
		}
	}
	for pi, js := range perProject {
		slices.SortFunc(js, func(a, b *Job) int {
			if c := a.StartedAt.Compare(*b.StartedAt); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		for _, j := range js {
			n := w.nextJobNumber[pi]
			w.nextJobNumber[pi]++
			j.JobNumber = &n
		}
	}
}

// rank orders the fault candidates from the rank stream, once.
func (w *world) rank() {
	r := newRand(w.opts.Seed, streamRank)
	oldest := slices.Clone(w.all)
	slices.Reverse(oldest)
	for _, p := range oldest {
		w.expiredRank = append(w.expiredRank, p.ID)
	}
	var candidates []string
	for pi := range w.projects {
		list := w.byProject[pi]
		for k, p := range list {
			if k < 5 || p.State != pipelineStateCreated || len(w.wfByPipeline[p.ID]) == 0 || !w.pipelineFinished(p.ID) {
				continue
			}
			candidates = append(candidates, p.ID)
		}
	}
	slices.Sort(candidates)
	w.brokenRank = shuffled(r, candidates)

	referenced := map[string]bool{}
	for _, p := range w.all {
		for _, wf := range w.wfByPipeline[p.ID] {
			for _, id := range w.workflowUserRefs(wf) {
				referenced[id] = true
			}
		}
	}
	delete(referenced, w.meFull)
	delete(referenced, w.meLimited)
	w.missingRank = shuffled(r, sortedKeys(referenced))
}

// pipelineFinished reports whether every workflow of the pipeline is terminal.
func (w *world) pipelineFinished(id string) bool {
	for _, wf := range w.wfByPipeline[id] {
		if !isTerminalWorkflow(wf.Status) {
			return false
		}
	}
	return true
}

// workflowUserRefs returns the user ids a workflow and its jobs reference.
func (w *world) workflowUserRefs(wf *Workflow) []string {
	var ids []string
	for _, id := range []string{wf.StartedBy, wf.CanceledBy, wf.ErroredBy} {
		if id != "" {
			ids = append(ids, id)
		}
	}
	for _, j := range w.jobsByWf[wf.ID] {
		for _, id := range []string{j.ApprovedBy, j.CanceledBy} {
			if id != "" {
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// faultSets are the pipelines and users the current fault counts hit.
type faultSets struct {
	broken, expired, missing map[string]bool
}

// faultSets picks the first N of each ranking. Expired pipelines are never
// also broken.
func (w *world) faultSets(f Faults) faultSets {
	s := faultSets{broken: map[string]bool{}, expired: map[string]bool{}, missing: map[string]bool{}}
	for _, id := range w.expiredRank[:min(f.ExpiredPipelines, len(w.expiredRank))] {
		s.expired[id] = true
	}
	for _, id := range w.brokenRank {
		if len(s.broken) >= f.BrokenPipelines {
			break
		}
		if !s.expired[id] {
			s.broken[id] = true
		}
	}
	for _, id := range w.missingRank[:min(f.MissingUsers, len(w.missingRank))] {
		s.missing[id] = true
	}
	return s
}

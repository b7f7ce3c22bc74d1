package circlecitest

import "time"

// Defaults applied by NewServer and NewHandler to zero-valued Options fields.
const (
	// DefaultProjects is the number of projects when Options.Projects is 0.
	DefaultProjects = 3
	// DefaultPipelinesPerProject is the number of pipelines per project when
	// Options.PipelinesPerProject is 0.
	DefaultPipelinesPerProject = 25
	// DefaultMaxWorkflowsPerPipeline is the largest number of workflows a
	// generated pipeline has when Options.MaxWorkflowsPerPipeline is 0.
	DefaultMaxWorkflowsPerPipeline = 3
	// DefaultMaxJobsPerWorkflow is above PageSize, so some job lists span two pages.
	DefaultMaxJobsPerWorkflow = 25
	// DefaultUsers is the number of users when Options.Users is 0.
	DefaultUsers = 12
	// DefaultToken is the valid personal API token when Options.Token is "".
	DefaultToken = "fake-token"
	// DefaultLimitedProjects is how many projects the limited token sees when
	// Options.LimitedToken is set and Options.LimitedProjects is 0.
	DefaultLimitedProjects = 1
	// PageSize is the fixed number of items in every page of every list
	// response. As on CircleCI, clients cannot change it.
	PageSize = 20
	// DefaultAdvanceStep is how far Advance moves the clock when Advance.Step is 0.
	DefaultAdvanceStep = time.Hour
	// DefaultRerunMinAge is the least age of a pipeline Advance reruns when
	// Advance.RerunMinAge is 0.
	DefaultRerunMinAge = 24 * time.Hour
	// DefaultInsightsLag is how long a finished run takes to show in Insights when
	// Options.InsightsLag is 0.
	DefaultInsightsLag = time.Hour
)

// DefaultNow is the dataset clock when Options.Now is zero: the data never depends on
// the wall clock.
var DefaultNow = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// Options configures a fake server; every zero field takes its default. The same
// Options always give the same dataset and byte-identical answers.
type Options struct {
	// Seed seeds every pseudo-random choice: ids, names, times, statuses, which
	// pipelines are broken or expired, which users are missing.
	Seed int64

	// Projects is the number of projects (default DefaultProjects). Project i
	// uses the slug style gh/…, bb/… or circleci/… in turn, unless OneOrg.
	Projects int
	// OneOrg puts every project in gh/acme: one organisation of Projects projects.
	OneOrg bool
	// PipelinesPerProject is the number of pipelines each project starts with
	// (default DefaultPipelinesPerProject; a negative value means none).
	PipelinesPerProject int
	// BigProject, when > 0, is the number of pipelines the first project
	// starts with instead: an organisation's projects differ widely in size, and
	// one long project among short ones is what a fan-out must not wait on.
	BigProject int
	// MaxWorkflowsPerPipeline bounds the workflows of a pipeline (default
	// DefaultMaxWorkflowsPerPipeline).
	MaxWorkflowsPerPipeline int
	// MaxJobsPerWorkflow bounds the jobs of a workflow (default
	// DefaultMaxJobsPerWorkflow). Each workflow has between 1 and this many.
	MaxJobsPerWorkflow int
	// Users is the number of CircleCI users (default DefaultUsers).
	Users int
	// OddProjects adds GitHub projects with names awkward to escape and store
	// (OddRepoNames), every second one in the organization OddOrgSlug.
	OddProjects int

	// Now is the dataset clock (default DefaultNow). All created_at, started_at
	// and stopped_at values are before it. Advance moves it forward.
	Now time.Time

	// Token is the valid personal API token (default DefaultToken). It sees
	// every project.
	Token string
	// LimitedToken, if set, is a token that sees only the first LimitedProjects
	// projects; the others answer 404 "Project not found" and are listed nowhere.
	LimitedToken string
	// LimitedProjects is how many projects LimitedToken sees (default
	// DefaultLimitedProjects when LimitedToken is set).
	LimitedProjects int

	// InsightsLag is how long after it stops a run shows in Insights (default
	// DefaultInsightsLag; negative: at once).
	InsightsLag time.Duration
	// OddWorkflowNames names the odd projects' workflows OddWorkflowNames (spaces,
	// '/', '%', unicode), to test escaping; other data stays the same.
	OddWorkflowNames bool

	// AllowHTTPWebhooks lets webhooks deliver to http URLs (tests); CircleCI takes https only.
	AllowHTTPWebhooks bool
	// TokenNotAdmin makes Token a non-admin of the organization: changing webhooks answers 403.
	TokenNotAdmin bool
	// Webhooks shape the delivery of webhook events (faults off by default).
	Webhooks WebhookOptions

	// MaxTestsPerJob bounds the test results of a job named like tests (default
	// DefaultMaxTestsPerJob).
	MaxTestsPerJob int
	// BigTestJob, when > 0, gives one finished test job of the first project (the
	// highest-numbered at the start) that many test results (a memory check).
	BigTestJob int

	// Faults are the faults switched on from the start. They can be changed
	// later with Server.SetFaults or POST /_fake/faults.
	Faults Faults
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	if o.Projects <= 0 {
		o.Projects = DefaultProjects
	}
	switch {
	case o.PipelinesPerProject == 0:
		o.PipelinesPerProject = DefaultPipelinesPerProject
	case o.PipelinesPerProject < 0:
		o.PipelinesPerProject = 0
	}
	if o.MaxWorkflowsPerPipeline <= 0 {
		o.MaxWorkflowsPerPipeline = DefaultMaxWorkflowsPerPipeline
	}
	if o.MaxJobsPerWorkflow <= 0 {
		o.MaxJobsPerWorkflow = DefaultMaxJobsPerWorkflow
	}
	if o.Users <= 0 {
		o.Users = DefaultUsers
	}
	if o.MaxTestsPerJob <= 0 {
		o.MaxTestsPerJob = DefaultMaxTestsPerJob
	}
	o.OddProjects = max(o.OddProjects, 0)
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	o.Now = o.Now.UTC().Truncate(time.Millisecond)
	if o.Token == "" {
		o.Token = DefaultToken
	}
	if o.LimitedToken != "" && o.LimitedProjects <= 0 {
		o.LimitedProjects = DefaultLimitedProjects
	}
	if o.LimitedProjects > o.Projects {
		o.LimitedProjects = o.Projects
	}
	return o
}

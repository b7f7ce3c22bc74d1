package workflows

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/circleci-sync/circleci-sync/activities"
)

// Defaults and bounds of ConnectionSyncInput's optional fields (see its fields).
const (
	DefaultBaseURL               = "https://circleci.com"
	DefaultTokenEnv              = "CIRCLECI_TOKEN"
	DefaultMaxConcurrentProjects = 16
	// MaxConcurrentProjectsLimit: the token's rate budget is the real bound.
	MaxConcurrentProjectsLimit = 100
	DefaultOverlap             = time.Hour
	DefaultRerunWindow         = 72 * time.Hour
	DefaultUsersFreshFor       = 24 * time.Hour
	DefaultRediscoverAfter     = time.Hour
	DefaultInterval            = time.Hour
	MinInterval                = time.Minute
	DefaultTargetsIdle         = 5 * time.Minute
)

// ConnectionSyncInput is the input of ConnectionSync, a JSON object such as
// {"connection_id": "acme", "org_slug": "gh/acme"} (only those two required).
// Decoding never fails: Validate reports every problem as one invalid_input.
type ConnectionSyncInput struct {
	// ConnectionID names the connection: letters, digits, '.', '_', '-'.
	ConnectionID string `json:"connection_id"`
	// OrgSlug is the organisation: "gh/acme", "bb/acme", "circleci/<org-uuid>".
	OrgSlug string `json:"org_slug"`
	// BaseURL is the CircleCI installation (default DefaultBaseURL).
	BaseURL string `json:"base_url,omitempty"`
	// Projects are the project slugs to sync; empty means discover them.
	Projects []string `json:"projects,omitempty"`
	// TokenEnv names the worker's variable holding the token (default DefaultTokenEnv).
	TokenEnv string `json:"token_env,omitempty"`
	// Since bounds a first sync (RFC 3339 or a date); empty means all history.
	Since string `json:"since,omitempty"`
	// MaxConcurrentProjects bounds the projects synced at once.
	MaxConcurrentProjects int `json:"max_concurrent_projects,omitempty"`
	// Overlap is how far before the watermark an incremental sync re-reads.
	Overlap *Duration `json:"overlap,omitempty"`
	// RerunWindow is how far back an incremental sync re-lists workflows (reruns).
	RerunWindow *Duration `json:"rerun_window,omitempty"`
	// RepairEvery is how often a project's repair pass (Insights runs) runs, or "off".
	RepairEvery *RepairEvery `json:"repair_every,omitempty"`
	// UsersFreshFor: users fetched this recently are not fetched again.
	UsersFreshFor *Duration `json:"users_fresh_for,omitempty"`
	// RediscoverAfter: projects discovered this recently are taken as recorded.
	RediscoverAfter *Duration `json:"rediscover_after,omitempty"`
	// Continuous runs a cycle every Interval (or resync request), for ever.
	Continuous bool `json:"continuous,omitempty"`
	// Interval is the wait between the cycles of a continuous sync.
	Interval *Duration `json:"interval,omitempty"`
	// TargetsOnly (set by the webhook receiver) runs no cycle: the run serves
	// targets Updates and completes after TargetsIdle without any.
	TargetsOnly bool      `json:"targets_only,omitempty"`
	TargetsIdle *Duration `json:"targets_idle,omitempty"`
	// Include lists the extras read once per terminal build job: "job_details",
	// "tests" (default none: each costs a request or more per job).
	Include []string `json:"include,omitempty"`
	// TestsJobs, with "tests" included, is a regular expression (RE2, unanchored)
	// a job's name must match for its tests to be read; empty: every job's.
	TestsJobs string `json:"tests_jobs,omitempty"`

	// State is set by ConnectionSync when it continues as new; leave it out.
	State *ConnectionSyncState `json:"state,omitempty"`

	problems []string // decoding problems, for Validate
}

// UnmarshalJSON decodes field by field, keeping every problem for Validate: a
// workflow whose input cannot be decoded would retry its first task forever.
func (in *ConnectionSyncInput) UnmarshalJSON(b []byte) error {
	*in = ConnectionSyncInput{}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		in.problems = append(in.problems, "the input must be a JSON object such as "+
			`{"connection_id":"acme","org_slug":"gh/acme"}`)
		return nil
	}
	if k, dup := duplicateKey(b); dup {
		in.problems = append(in.problems, fmt.Sprintf("the key %s appears twice in one object: name each field once", safeKey(k)))
	}
	keys := slices.Sorted(maps.Keys(fields))
	for _, k := range keys {
		dst := in.field(k)
		switch {
		case dst == nil:
			in.problems = append(in.problems, fmt.Sprintf("unknown field %s", safeKey(k)))
		case !utf8.Valid(fields[k]):
			in.problems = append(in.problems, fmt.Sprintf("field %q is not valid UTF-8", k))
		default:
			if err := json.Unmarshal(fields[k], dst); err != nil {
				in.problems = append(in.problems, fmt.Sprintf("field %q: %s", k, decodeProblem(k, err)))
			}
		}
	}
	return nil
}

// field is where the JSON field k decodes to, nil for an unknown field.
func (in *ConnectionSyncInput) field(k string) any {
	return map[string]any{
		"connection_id": &in.ConnectionID, "org_slug": &in.OrgSlug, "base_url": &in.BaseURL,
		"projects": &in.Projects, "token_env": &in.TokenEnv, "since": &in.Since,
		"max_concurrent_projects": &in.MaxConcurrentProjects, "overlap": &in.Overlap,
		"rerun_window": &in.RerunWindow, "repair_every": &in.RepairEvery, "users_fresh_for": &in.UsersFreshFor,
		"rediscover_after": &in.RediscoverAfter, "continuous": &in.Continuous,
		"interval": &in.Interval, "targets_only": &in.TargetsOnly, "targets_idle": &in.TargetsIdle,
		"include": &in.Include, "tests_jobs": &in.TestsJobs, "state": &in.State,
	}[k]
}

// decodeProblem words a JSON decoding error for a user, without the value.
func decodeProblem(field string, err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		kind, _, _ := strings.Cut(te.Value, " ")
		return fmt.Sprintf("got a JSON %s, want %s", kind, te.Type)
	}
	switch field {
	case "overlap", "rerun_window", "users_fresh_for", "rediscover_after", "interval", "targets_idle":
		return `want a Go duration such as "1h" or "72h", or a number of nanoseconds`
	case "repair_every":
		return `want a Go duration such as "6h", "0s" (every sync) or "off"`
	}
	return "not a valid value"
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate returns nil or a non-retryable invalid_input listing every problem,
// never quoting a refused value: it may be a secret pasted in the wrong field.
func (in ConnectionSyncInput) Validate() error {
	problems := slices.Clone(in.problems)
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	in.checkNames(add)
	for i, p := range in.Projects {
		if pr := projectSlugProblem(p); pr != "" {
			add("projects[%d] %s (want a project slug such as \"gh/acme/api\")", i, pr)
		}
	}
	in.checkState(add)
	in.checkKnobs(add)
	in.checkInclude(add)
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return temporal.NewNonRetryableApplicationError("invalid ConnectionSync input: "+strings.Join(problems, "; "),
		activities.ErrInvalidInput, nil)
}

// checkNames checks connection_id, org_slug, base_url and token_env.
func (in ConnectionSyncInput) checkNames(add func(string, ...any)) {
	switch {
	case in.ConnectionID == "":
		add("connection_id is required (a name for this connection, e.g. \"acme\")")
	case looksLikeToken(in.ConnectionID):
		add("connection_id looks like a CircleCI token: name the connection (e.g. \"acme\"); revoke that token, it is now in this workflow's input")
	case !connectionIDPattern(in.ConnectionID):
		add("connection_id (%d bytes): use letters, digits, '.', '_' and '-', at most %d, starting with a letter or digit",
			len(in.ConnectionID), MaxConnectionID)
	}
	if in.OrgSlug == "" {
		add("org_slug is required (e.g. \"gh/acme\", \"bb/acme\" or \"circleci/<org-uuid>\")")
	} else if pr := textProblem(in.OrgSlug, MaxOrgSlug); pr != "" {
		add("org_slug %s", pr)
	} else if parts := strings.Split(in.OrgSlug, "/"); len(parts) != 2 || parts[0] == "" || parts[1] == "" ||
		strings.TrimSpace(in.OrgSlug) != in.OrgSlug {
		add("org_slug: want <vcs>/<org>, e.g. \"gh/acme\" or \"circleci/<org-uuid>\"")
	}
	if in.BaseURL != "" {
		u, err := url.Parse(in.BaseURL)
		if pr := textProblem(in.BaseURL, MaxBaseURL); pr != "" {
			add("base_url %s", pr)
		} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" {
			add("base_url: want an absolute http(s) URL such as \"https://circleci.com\" or your CircleCI server's, without user info, query or fragment")
		}
	}
	switch {
	case in.TokenEnv == "":
	case looksLikeToken(in.TokenEnv):
		add("token_env holds what looks like a CircleCI token: want the NAME of an environment variable on the worker " +
			"holding it (e.g. \"ACME_CIRCLECI_TOKEN\"); revoke that token, it is now in this workflow's input")
	case len(in.TokenEnv) > MaxTokenEnv || !envNamePattern.MatchString(in.TokenEnv):
		add("token_env: want the NAME of an environment variable on the worker (letters, digits, '_', at most %d; "+
			"e.g. \"CIRCLECI_TOKEN\"), never the token itself", MaxTokenEnv)
	}
}

// checkState checks a carried state is consistent (no index out of range).
func (in ConnectionSyncInput) checkState(add func(string, ...any)) {
	st := in.State
	if st == nil {
		return
	}
	const hint = " (state is set by ConnectionSync when it continues as new: leave it out)"
	if st.Runs < 0 || st.Cycle < 0 || st.ResyncPending < 0 || st.Next < 0 || st.Next > len(st.Projects) || len(st.InFlight) > 0 ||
		(!st.Discovered && (len(st.Projects) > 0 || len(st.Retry) > 0 || st.Next > 0)) {
		add("state: inconsistent cursor" + hint)
	}
	if len(st.Targets) > MaxPendingTargets || len(st.RecentEvents) > MaxRecentEvents {
		add("state: more targets or events than held" + hint)
	}
	// Discovered slugs are CircleCI's: only their shape is checked.
	for i, p := range append(slices.Clone(st.Projects), st.Retry...) {
		if pr := projectSlugShape(p); pr != "" {
			add("state: project %d %s"+hint, i, pr)
		}
	}
}

// checkKnobs checks since, max_concurrent_projects and the durations.
func (in ConnectionSyncInput) checkKnobs(add func(string, ...any)) {
	if in.Since != "" {
		if _, err := parseSince(in.Since); err != nil || len(in.Since) > MaxSince {
			add("since: want RFC 3339 (\"2026-01-01T00:00:00Z\") or a date (\"2026-01-01\")")
		}
	}
	if in.MaxConcurrentProjects < 0 || in.MaxConcurrentProjects > MaxConcurrentProjectsLimit {
		add("max_concurrent_projects %d: want 1 to %d (0 means %d)", in.MaxConcurrentProjects,
			MaxConcurrentProjectsLimit, DefaultMaxConcurrentProjects)
	}
	for _, f := range []struct {
		name string
		d    *Duration
	}{{"overlap", in.Overlap}, {"rerun_window", in.RerunWindow}, {"users_fresh_for", in.UsersFreshFor},
		{"rediscover_after", in.RediscoverAfter}, {"targets_idle", in.TargetsIdle}} {
		if f.d != nil && *f.d < 0 {
			add("%s %s: must not be negative", f.name, f.d.D())
		}
	}
	if r := in.RepairEvery; r != nil && r.Every < 0 {
		add("repair_every %s: must not be negative (\"0s\": every sync, \"off\": never)", r.Every.D())
	}
	if in.TargetsOnly && in.Continuous {
		add("targets_only: a targets-only run is not continuous (the receiver sets it; leave it out)")
	}
	if in.Interval != nil {
		switch {
		case !in.Continuous:
			add("interval %s: applies to continuous syncs only (set \"continuous\": true)", in.Interval.D())
		case in.Interval.D() < MinInterval:
			add("interval %s: want at least %s", in.Interval.D(), MinInterval)
		}
	}
}

// connectionIDPattern tells whether id is a valid connection_id.
func connectionIDPattern(id string) bool {
	return len(id) <= MaxConnectionID && connectionIDChars.MatchString(id)
}

var connectionIDChars = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// projectSlugProblem says what is wrong with p as a project slug ("" if
// nothing): three non-empty parts of printable UTF-8 of any script.
func projectSlugProblem(p string) string {
	if pr := textProblem(p, MaxProjectSlug); pr != "" {
		return pr
	}
	return projectSlugShape(p)
}

// projectSlugShape says whether p has three non-empty parts, "" if so.
func projectSlugShape(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || strings.TrimSpace(p) != p {
		return fmt.Sprintf("(%d bytes) is not <vcs>/<org>/<project>", len(p))
	}
	return ""
}

// Validate returns nil or a non-retryable invalid_input.
func (in ProjectSyncInput) Validate() error {
	var problems []string
	c := in.Connection
	// The same checks as ConnectionSync's, but org_slug is optional here.
	ConnectionSyncInput{ConnectionID: c.ConnectionID, OrgSlug: cmp.Or(c.OrgSlug, "vcs/org"), BaseURL: c.BaseURL,
		TokenEnv: c.TokenEnv}.checkNames(func(format string, args ...any) {
		problems = append(problems, "connection."+fmt.Sprintf(format, args...))
	})
	if pr := projectSlugProblem(in.ProjectSlug); pr != "" {
		problems = append(problems, "project_slug "+pr+" (want a project slug such as \"gh/acme/api\")")
	}
	if in.Overlap < 0 || in.RerunWindow < 0 || (in.RepairEvery != nil && in.RepairEvery.Every < 0) {
		problems = append(problems, "overlap, rerun_window and repair_every must not be negative")
	}
	if _, err := regexp.Compile(in.Extras.TestsJobs); err != nil || len(in.Extras.TestsJobs) > MaxTestsJobs {
		problems = append(problems, "extras.tests_jobs: want a regular expression (RE2) of at most 256 bytes")
	}
	if st := in.State; st != nil && (st.Runs < 0 || st.Pages < 0 || st.Restarts < 0) {
		problems = append(problems, "state: inconsistent cursor (state is set by ProjectSync when it continues as new: leave it out)")
	}
	if len(problems) == 0 {
		return nil
	}
	return temporal.NewNonRetryableApplicationError("invalid ProjectSync input: "+strings.Join(problems, "; "),
		activities.ErrInvalidInput, nil)
}

// parseSince reads since as RFC 3339 or a date (midnight UTC).
func parseSince(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

// withDefaults returns the input with every optional field set.
func (in ConnectionSyncInput) withDefaults() ConnectionSyncInput {
	if in.BaseURL == "" {
		in.BaseURL = DefaultBaseURL
	}
	if in.TokenEnv == "" {
		in.TokenEnv = DefaultTokenEnv
	}
	if in.MaxConcurrentProjects == 0 {
		in.MaxConcurrentProjects = DefaultMaxConcurrentProjects
	}
	def := func(d *Duration, v time.Duration) *Duration {
		if d == nil {
			x := Duration(v)
			return &x
		}
		return d
	}
	in.Overlap = def(in.Overlap, DefaultOverlap)
	in.RerunWindow = def(in.RerunWindow, DefaultRerunWindow)
	if in.RepairEvery == nil {
		in.RepairEvery = &RepairEvery{Every: Duration(DefaultRepairEvery)}
	}
	in.UsersFreshFor = def(in.UsersFreshFor, DefaultUsersFreshFor)
	in.RediscoverAfter = def(in.RediscoverAfter, DefaultRediscoverAfter)
	if in.Continuous {
		in.Interval = def(in.Interval, DefaultInterval)
	}
	in.TargetsIdle = def(in.TargetsIdle, DefaultTargetsIdle)
	return in
}

// connection is the activities' view of the input.
func (in ConnectionSyncInput) connection() activities.Connection {
	return activities.Connection{ConnectionID: in.ConnectionID, OrgSlug: in.OrgSlug, BaseURL: in.BaseURL,
		TokenEnv: in.TokenEnv}
}

package activities

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/circleci-sync/circleci-sync/store"
)

// Connection names a CircleCI connection without its secret: the token is looked up
// on the worker from the environment variable TokenEnv, never carried in workflow
// history.
type Connection struct {
	// ConnectionID identifies the connection in the store and in workflow IDs.
	ConnectionID string `json:"connection_id"`
	// OrgSlug is the organisation, e.g. "gh/acme" or "circleci/<uuid>".
	OrgSlug string `json:"org_slug"`
	// BaseURL is the CircleCI installation, e.g. "https://circleci.com".
	BaseURL string `json:"base_url"`
	// TokenEnv is the name of the worker's environment variable holding the token.
	TokenEnv string `json:"token_env"`
}

// SyncCounts are the figures of a sync step, added up by the workflows.
type SyncCounts struct {
	// Pages is the number of pipeline pages processed.
	Pages int64 `json:"pages"`
	// Entities are the entities fetched and written (changed or not), by kind
	// name (CountedKinds). In JSON each is a field named by the kind's plural.
	Entities map[string]int64 `json:"-"`
	// Skipped is the number of entities recorded in the skipped ledger;
	// SkippedBy splits it by reason.
	Skipped   int64      `json:"skipped"`
	SkippedBy SkipCounts `json:"skipped_by_reason"`
	// Written and Unchanged are the store's WriteStats, summed.
	Written   int64 `json:"written"`
	Unchanged int64 `json:"unchanged"`
	// Requests is the number of CircleCI API requests sent, retries included.
	Requests int64 `json:"requests"`
	// RateLimited is the number of those CircleCI answered 429.
	RateLimited int64 `json:"rate_limited"`
	// RateLimitWaitMS is the time requests waited for the token's limiter,
	// added up over concurrent requests.
	RateLimitWaitMS int64 `json:"rate_limit_wait_ms"`
}

// SkipCounts counts skipped-ledger entries by reason.
type SkipCounts struct {
	// Expired: past CircleCI's data retention (404).
	Expired int64 `json:"expired"`
	// ServerError: kept answering 5xx; retried by the next sync.
	ServerError int64 `json:"server_error"`
	// NotFound: the entity does not exist (a deleted user, 404).
	NotFound int64 `json:"not_found"`
}

// add counts one entry of reason r.
func (s *SkipCounts) add(r string) {
	switch r {
	case reasonExpired:
		s.Expired++
	case reasonServerError:
		s.ServerError++
	case reasonNotFound:
		s.NotFound++
	}
}

// CountedKinds are the entity kinds SyncCounts reports: every kind but the
// project, which StartProject writes outside the counts.
func CountedKinds() []store.EntityKind {
	var out []store.EntityKind
	for _, k := range store.EntityKinds {
		if k.Name != store.KindProject {
			out = append(out, k)
		}
	}
	return out
}

// Of is the number of entities of kind counted.
func (c SyncCounts) Of(kind string) int64 { return c.Entities[kind] }

// AddEntities adds n entities of kind.
func (c *SyncCounts) AddEntities(kind string, n int64) {
	if n == 0 {
		return
	}
	if c.Entities == nil {
		c.Entities = map[string]int64{}
	}
	c.Entities[kind] += n
}

// countsJSON is SyncCounts without its JSON methods.
type countsJSON SyncCounts

// MarshalJSON writes c flat, each counted kind under its plural ("pipelines"):
// the format workflow histories hold.
func (c SyncCounts) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(countsJSON(c))
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1]
	for _, k := range CountedKinds() {
		b = fmt.Appendf(b, ",%q:%d", k.Plural, c.Entities[k.Name])
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *SyncCounts) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if err := json.Unmarshal(b, (*countsJSON)(c)); err != nil {
		return err
	}
	c.Entities = nil
	for _, k := range CountedKinds() {
		var n int64
		if raw, ok := fields[k.Plural]; ok {
			if err := json.Unmarshal(raw, &n); err != nil {
				return fmt.Errorf("counts: %s: %w", k.Plural, err)
			}
		}
		c.AddEntities(k.Name, n)
	}
	return nil
}

// Add adds o to c.
func (c *SyncCounts) Add(o SyncCounts) {
	c.Pages += o.Pages
	for k, n := range o.Entities {
		c.AddEntities(k, n)
	}
	c.Skipped += o.Skipped
	c.SkippedBy.Expired += o.SkippedBy.Expired
	c.SkippedBy.ServerError += o.SkippedBy.ServerError
	c.SkippedBy.NotFound += o.SkippedBy.NotFound
	c.Written += o.Written
	c.Unchanged += o.Unchanged
	c.Requests += o.Requests
	c.RateLimited += o.RateLimited
	c.RateLimitWaitMS += o.RateLimitWaitMS
}

// addBatch adds a written batch's figures to c.
func (c *SyncCounts) addBatch(b store.Batch, ws store.WriteStats) {
	for k, n := range b.Entities() {
		c.AddEntities(k, int64(n))
	}
	c.Skipped += int64(len(b.Skipped))
	for _, sk := range b.Skipped {
		c.SkippedBy.add(sk.Reason)
	}
	c.Written += int64(ws.Written)
	c.Unchanged += int64(ws.Unchanged)
}

// Map returns the counts by name (each counted kind by its plural), as stored
// in the sync state's LastRun.
func (c SyncCounts) Map() map[string]int64 {
	m := map[string]int64{
		"pages": c.Pages, "skipped": c.Skipped, "skipped_expired": c.SkippedBy.Expired,
		"skipped_server_error": c.SkippedBy.ServerError, "skipped_not_found": c.SkippedBy.NotFound,
		"written": c.Written, "unchanged": c.Unchanged, "requests": c.Requests,
		"rate_limited": c.RateLimited, "rate_limit_wait_ms": c.RateLimitWaitMS,
	}
	for _, k := range CountedKinds() {
		m[k.Plural] = c.Entities[k.Name]
	}
	return m
}

// VerifyInput is the input of VerifyConnection.
type VerifyInput struct {
	Connection Connection `json:"connection"`
	// Projects are the configured project slugs, if any; the first is used for the
	// project-pipelines check.
	Projects []string `json:"projects,omitempty"`
}

// VerifyStep is one check of CircleCI's diagnostic sequence.
type VerifyStep struct {
	// Name is "org_pipelines", "project_pipelines", "me", "collaborations" or
	// "followed_projects".
	Name string `json:"name"`
	// OK tells whether the check passed.
	OK bool `json:"ok"`
	// HTTPStatus is the status CircleCI answered (0 when no request was made).
	HTTPStatus int `json:"http_status,omitempty"`
	// Detail says what was found or what went wrong, never a token.
	Detail string `json:"detail,omitempty"`
}

// VerifyReport is the result of VerifyConnection: the diagnostic sequence's steps.
type VerifyReport struct {
	Steps []VerifyStep `json:"steps"`
	// UserLogin is the token's user (GET /me).
	UserLogin string `json:"user_login,omitempty"`
	// Organizations are the slugs of the organisations the user collaborates with.
	Organizations []string `json:"organizations,omitempty"`
	// FollowedProjects is how many projects the user follows (v1.1).
	FollowedProjects int `json:"followed_projects"`
	// Requests is the number of API requests made.
	Requests int64 `json:"requests"`
	// Skipped is true when the connection was verified recently and not checked
	// again (see VerifyConnection); VerifiedAt is when it was.
	Skipped    bool      `json:"skipped,omitempty"`
	VerifiedAt time.Time `json:"verified_at,omitempty"`
}

// DiscoverInput is the input of DiscoverProjects.
type DiscoverInput struct {
	Connection Connection `json:"connection"`
	// Projects, when not empty, is the configured list: it is the result
	// (deduplicated and sorted), it is added to the record, and nothing is
	// discovered.
	Projects []string `json:"projects,omitempty"`
	// FreshFor: projects discovered this recently are not discovered again (the
	// record is the result). Zero: always discover.
	FreshFor time.Duration `json:"fresh_for,omitempty"`
}

// DiscoverResult is the result of DiscoverProjects.
type DiscoverResult struct {
	// Projects are the project slugs to sync, sorted and deduplicated.
	Projects []string `json:"projects"`
	// Requests is the number of API requests made.
	Requests int64 `json:"requests"`
	// OrgPipelinePages is how many pages of the org pipeline list were read,
	// by this attempt and the earlier ones it resumed (0 with configured
	// projects).
	OrgPipelinePages int `json:"org_pipeline_pages,omitempty"`
	// OrgPipelinesTruncated is true when the org pipeline list had more pages
	// than Activities.DiscoveryMaxPages: older pipelines were not read. Never
	// on a first discovery.
	OrgPipelinesTruncated bool `json:"org_pipelines_truncated,omitempty"`
	// FirstDiscovery is true when no project of the organisation was on
	// record: the whole org pipeline list was read.
	FirstDiscovery bool `json:"first_discovery,omitempty"`
	// Recent is true when the projects were discovered within FreshFor: the
	// recorded ones were taken, without a request.
	Recent bool `json:"recent,omitempty"`
}

// DiscoverProgress is DiscoverProjects' heartbeat detail: a retry resumes the
// org pipeline list after the pages already read.
type DiscoverProgress struct {
	// NextPageToken is the token of the next page to read; "" once Pages > 0
	// means the list was read to the end.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Pages is the number of pages read.
	Pages int `json:"pages"`
	// Slugs are the distinct project slugs the pages read named, sorted.
	Slugs []string `json:"slugs,omitempty"`
	// Newest is the created_at of the newest pipeline read.
	Newest time.Time `json:"newest,omitempty"`
	// Reached is true once a page held a pipeline older than the last
	// discovery's watermark: the pages after it are not read.
	Reached bool `json:"reached,omitempty"`
}

// StartProjectInput is the input of StartProject.
type StartProjectInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// Since bounds a first sync: older pipelines are not fetched. Zero means all
	// the history the API returns.
	Since time.Time `json:"since,omitempty"`
	// Overlap is subtracted from the watermark on an incremental sync.
	Overlap time.Duration `json:"overlap"`
}

// ProjectPlan is the result of StartProject: where the project's pipeline paging
// stops.
type ProjectPlan struct {
	// Incremental is true when a completed sync of the project is on record.
	Incremental bool `json:"incremental"`
	// Watermark is the stored watermark (zero on a first sync).
	Watermark time.Time `json:"watermark,omitempty"`
	// StopBefore: paging stops at the first pipeline created before it. Zero means
	// page to the end.
	StopBefore time.Time `json:"stop_before,omitempty"`
	// StartedAt is the worker's clock when the plan was made; the rerun window is
	// measured back from it.
	StartedAt time.Time `json:"started_at"`
	// Requests is the number of API requests made (GET /project/{slug}).
	Requests int64 `json:"requests"`
	// Written and Unchanged count the project row's write.
	Written   int64 `json:"written"`
	Unchanged int64 `json:"unchanged"`
}

// PageInput is the input of SyncPipelinePage.
type PageInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// PageToken is the page to fetch ("" for the first).
	PageToken string `json:"page_token,omitempty"`
	// PageNumber counts pages from 1, for summaries and logs.
	PageNumber int `json:"page_number"`
	// StopBefore: pipelines created before it are not processed and end the paging.
	StopBefore time.Time `json:"stop_before,omitempty"`
	// MaxPages is the most pages the activity processes (0 means 1).
	MaxPages int `json:"max_pages,omitempty"`
	// Below is the lowest pipeline number of the pages read before (0: none): a
	// page with no pipeline below it repeats one, and the paging loops.
	Below int64 `json:"below,omitempty"`
	// Incremental is true on an incremental sync: the jobs of a workflow stored
	// terminal with the same status are not listed again.
	Incremental bool `json:"incremental,omitempty"`
}

// PageResult is the result of SyncPipelinePage: only a cursor and counts.
type PageResult struct {
	// NextPageToken is the next page's token; "" when Done.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Done is true when there is no next page or StopBefore was reached.
	Done bool `json:"done"`
	// Newest is the created_at of the newest pipeline processed (zero if none).
	Newest time.Time  `json:"newest,omitempty"`
	Counts SyncCounts `json:"counts"`
	// LastError is the error an earlier attempt of this activity failed with
	// ("type: message"), "" when this is the first attempt or none failed.
	LastError string `json:"last_error,omitempty"`
	// Attempt is the attempt that succeeded (1 for the first).
	Attempt int32 `json:"attempt"`
	// Lowest is the lowest pipeline number of the pages read (in.Below when
	// lower), the next activity's Below.
	Lowest int64 `json:"lowest,omitempty"`
}

// PageProgress is SyncPipelinePage's heartbeat detail: a retry resumes on the
// page being processed, after the last pipeline written.
type PageProgress struct {
	// PageToken is the token of the page being processed.
	PageToken string `json:"page_token"`
	// PageNumber is its number (1 for the newest page).
	PageNumber int `json:"page_number,omitempty"`
	// Next is the index on the page of the first pipeline not yet written.
	Next int `json:"next"`
	// LastPipelineID is the id of the last pipeline written; a retry that finds the
	// page shifted resumes after it.
	LastPipelineID string `json:"last_pipeline_id,omitempty"`
	// Newest and Counts are the figures so far (every page of the activity).
	Newest time.Time `json:"newest,omitempty"`
	// Lowest is the lowest pipeline number of the pages done.
	Lowest int64      `json:"lowest,omitempty"`
	Counts SyncCounts `json:"counts"`
	// LastError is the error the last failed attempt ended with.
	LastError string `json:"last_error,omitempty"`
}

// RefreshInput is the input of RefreshProject.
type RefreshInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// SyncedSince: pipelines created at or after it were just synced by paging
	// and are not polled again. Zero means every stored pipeline was.
	SyncedSince time.Time `json:"synced_since,omitempty"`
	// RerunWindowStart: stored pipelines created at or after it have their
	// workflows listed again, to catch reruns.
	RerunWindowStart time.Time `json:"rerun_window_start,omitempty"`
}

// RefreshProgress is RefreshProject's heartbeat detail.
type RefreshProgress struct {
	// LastPipelineID is the last pipeline id (in bytewise order) done.
	LastPipelineID string `json:"last_pipeline_id"`
	// LastWorkflowID is the last id (in bytewise order) of the skipped workflows
	// whose jobs were listed again; set only once every pipeline is done.
	LastWorkflowID string     `json:"last_workflow_id,omitempty"`
	Counts         SyncCounts `json:"counts"`
}

// CompleteProjectInput is the input of CompleteProject.
type CompleteProjectInput struct {
	Connection  Connection `json:"connection"`
	ProjectSlug string     `json:"project_slug"`
	// Watermark is the created_at of the newest pipeline this sync saw; the stored
	// watermark never moves back.
	Watermark time.Time  `json:"watermark,omitempty"`
	Counts    SyncCounts `json:"counts"`
}

// ResolveUsersInput is the input of ResolveUsers.
type ResolveUsersInput struct {
	Connection Connection `json:"connection"`
	// Projects whose workflows and jobs reference the users to resolve.
	Projects []string `json:"projects"`
	// FreshFor: users fetched this recently are not fetched again.
	FreshFor time.Duration `json:"fresh_for"`
}

// ResolveUsersResult is the result of ResolveUsers.
type ResolveUsersResult struct {
	// Referenced is the number of distinct user ids referenced.
	Referenced int64 `json:"referenced"`
	// Fresh is how many of those were stored recently and not fetched.
	Fresh int64 `json:"fresh"`
	// Counts.Users is how many were fetched and written, Counts.Skipped how many
	// were missing (404) and went to the skipped ledger.
	Counts SyncCounts `json:"counts"`
}

// UsersProgress is ResolveUsers' heartbeat detail.
type UsersProgress struct {
	// Next is the index, in the sorted list of ids to fetch, of the first not yet
	// written.
	Next int `json:"next"`
	// LastUserID is the last id (in bytewise order) written. A retry resumes
	// after it, as the list to fetch may have shrunk meanwhile (users written
	// by the earlier attempt are now fresh).
	LastUserID string     `json:"last_user_id,omitempty"`
	Counts     SyncCounts `json:"counts"`
}

// CompleteConnectionInput is the input of CompleteConnection.
type CompleteConnectionInput struct {
	Connection Connection `json:"connection"`
	// Projects are this run's projects: they are added to the record.
	Projects []string `json:"projects"`
	// Missing are the projects this run found missing (project_not_found):
	// they are dropped from the record.
	Missing []string   `json:"missing,omitempty"`
	Counts  SyncCounts `json:"counts"`
	// Failed is the number of projects whose sync failed.
	Failed int64 `json:"failed"`
}

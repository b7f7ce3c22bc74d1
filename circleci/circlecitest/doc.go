// Package circlecitest is a fake CircleCI API for tests, demos and benchmarks,
// in the spirit of net/http/httptest.
//
// It behaves like CircleCI, not like our client expects: it is written from
// CircleCI's OpenAPI spec (shared/circleci/openapi.json, v2, and
// openapi-v1.1.json for GET /projects) and from the research notes
// (shared/notes/circleci-api.md), has its own wire types, and does not import
// package circleci.
//
//	s := circlecitest.NewServer(circlecitest.Options{Seed: 42})
//	defer s.Close()
//	// s.URL + "/api/v2/pipeline?org-slug=gh/acme", header "Circle-Token: fake-token"
//	want := s.Expected(s.Token()) // what a complete sync must store
//
// NewHandler gives the same server without a listener (the fakecircleci
// command serves it). s.URL is the base URL: the API is at s.URL+"/api/v2/…"
// and s.URL+"/api/v1.1/…", like a CircleCI Server host.
//
// # Routes
//
// v2: GET /me, /me/collaborations, /pipeline (org-slug, mine, page-token),
// /project/{project-slug}, /project/{project-slug}/pipeline (branch,
// page-token), /project/{project-slug}/pipeline/{pipeline-number},
// /pipeline/{pipeline-id}, /pipeline/{pipeline-id}/workflow (page-token),
// /workflow/{id}, /workflow/{id}/job (page-token), /user/{id}.
// v1.1: GET /projects. Anything else answers 404 {"message":"Not Found"}.
// The control API under /_fake/ (see controlPrefix in control.go: health,
// stats, stats/reset, dataset, expected, advance, faults) is not part of
// CircleCI; it needs no token, sees no faults and is not counted in Stats.
//
// # Dataset
//
// Everything derives from Options.Seed through math/rand/v2 PCG streams:
// UUIDs, names, times, statuses. The same Options give byte-identical
// responses (page tokens included); nothing reads the wall clock except the
// rate limiter and Latency. The clock is Options.Now (default
// 2026-01-01T00:00:00Z); every timestamp is before it.
//
//   - Projects cycle through the three slug styles: gh/acme/<repo>,
//     bb/acme/<repo> and circleci/<org-id>/<project-id> (22-character base58
//     ids, like the docs' examples). Each has an id, organization_id and
//     vcs_info (GitHub, Bitbucket, and GitLab under provider "CircleCI").
//   - OddProjects adds GitHub projects with awkward names (OddRepoNames:
//     "100% coverage", "my repo", unicode, quotes, "x'; DROP TABLE
//     circleci_pipelines; --", "a%2Fb+c&d=e?f#g", …), every second one in the
//     organization OddOrgSlug ("gh/ödd org's 100%"), to test escaping and
//     storage end to end.
//   - Pipelines (PipelinesPerProject each) are spread over the 60 days before
//     Now, so projects interleave in org lists; numbers increase with time;
//     lists are newest first. Triggers are webhook, api (sometimes by the
//     "ci-bot" login), explicit and scheduled_pipeline (actor "system-actor",
//     avatar null). gh/bb pipelines have a vcs object with a branch or a tag,
//     sometimes a review (PR) and a fork origin; circleci/… pipelines have no
//     vcs at all and carry trigger_parameters.circleci and .git instead.
//     Every 13th pipeline of a project (counting from the 5th oldest) is
//     errored: state "errored", a config error, no workflows.
//   - Workflows (1..MaxWorkflowsPerPipeline per pipeline: build-and-test,
//     deploy, nightly, …; sometimes a "setup" workflow with tag setup) are
//     simulated from a job graph (stages of parallel jobs, an approval job
//     "hold" in most deploy workflows), so statuses and times agree: success,
//     failed (a failed or timedout job, its dependents not_run), error
//     (infrastructure_fail, errored_by), canceled (canceled_by, on the
//     workflow and the jobs it cut). The two newest pipelines of each project
//     are still active: running, on_hold and failing workflows in turn, with
//     running, queued and blocked jobs, and approval jobs on_hold.
//   - Jobs (1..MaxJobsPerWorkflow, so some lists span two pages) of type build
//     and approval; approval jobs have approval_request_id (their own id) and,
//     once approved, approved_by. Build jobs that started have per-project
//     increasing job_number values.
//   - Users: the first is the token's /me; about one in four has a null
//     avatar_url; one may have name equal to login, another an empty name.
//   - Collaborations: the orgs of the visible projects plus the user's own
//     GitHub account with id null. Followed projects (v1.1): the visible
//     projects.
//
// # Tokens
//
// Options.Token sees everything. Options.LimitedToken sees only the first
// LimitedProjects projects: the others answer 404 "Project not found", their
// pipelines, workflows and jobs answer 404, and they are absent from org
// pipeline lists, collaborations and followed projects; its /me is the second
// user. Tokens are read from Circle-Token, "Authorization: Bearer" or HTTP
// basic auth (token as user). An unknown token gets 401
// {"message":"Invalid token provided."} on every v2 route except the
// /project/… ones, which answer 404 {"message":"Project not found"}; a missing
// one gets 401 "You must log in first."; v1.1 /projects answers 401 "You must
// log in first.". A token in the circle-token query parameter is refused
// (deprecated by CircleCI).
//
// # Paging
//
// Every list is {"items":[…],"next_page_token":<string or null>} with a fixed
// page size of 20 (PageSize). Tokens are opaque (MAC plus encrypted cursor,
// standard base64 that may contain "+" and "/"), bound to the list and its
// filters: a token from another list, another token, another seed, or sent
// without the filters it was made with (branch, org-slug, mine) answers 400
// {"message":"Invalid page-token."}. The cursor is the last item seen, so
// pipelines added by Advance between two pages neither repeat nor shift
// items.
//
// # Faults
//
// See Faults: latency, a token bucket (429 + Retry-After + plain text, and
// RateLimit-* headers), random 429s and 500s, broken pipelines (workflow list
// always 500), expired pipelines (the N oldest overall: workflow list,
// workflows and job lists answer 404 {"message":"Not Found"}) and missing users
// (404 "User does not exist."). Which pipelines and users are hit is fixed by
// the seed and does not depend on the data generation.
//
// Faults.Corrupt spoils the 200 answers of chosen routes, for the first N
// requests and/or at a rate (seeded, restarting whenever the faults are set):
// malformed_json (invalid JSON), truncated (half the body under a
// Content-Length promising all of it, then the connection closes), oversize
// (valid JSON over 9 MiB, OversizeBytes, above the client's 8 MiB limit),
// wrong_types ("number": "seven", or "items" an object), html_error (502 with
// nginx's text/html "502 Bad Gateway" page) and page_token_cycle (a page
// asked with page-token T answers next_page_token T again). Routes are named
// by their Stats key or a short name ("workflow_jobs", "pipeline_workflows",
// "project_pipelines", "org_pipelines", …; see CorruptionRoutes), or "*";
// Corruption.Match narrows an entry to the requests whose path holds an id or
// slug:
//
//	PUT /_fake/faults
//	{"corrupt":[{"route":"workflow_jobs","kind":"truncated","first":3},
//	            {"route":"*","kind":"html_error","rate":0.05}]}
//
// # Time
//
// Server.Advance (POST /_fake/advance) moves the clock and adds new pipelines,
// finishes running workflows, and adds rerun workflows to older pipelines
// without touching their updated_at — deterministically.
//
// # Introspection
//
// Server.Stats (GET /_fake/stats) counts requests per route template and
// status, the most concurrent requests, the 429s sent with Retry-After, the
// corrupted answers by kind, and whether clients waited as long as each 429
// asked: RetryAfterViolations counts the requests of a token that arrived
// more than RetryAfterGrace (100 ms) after a 429 to that token was sent but
// before its Retry-After had elapsed, RetryAfterHonoured the 429s whose wait
// was kept (see Stats.RetryAfterViolations for the exact definition).
// Server.Dataset (GET /_fake/dataset) is a deep copy of all data.
// Server.Expected (GET /_fake/expected?token=) is what a complete sync with a
// token can store, the Unreachable entities it must record as skipped, and
// the MinimumRequests it needs.
//
// # Deviations from the spec kept on purpose
//
// These are how CircleCI really answers (per the research notes) and how this
// fake answers, although the spec says otherwise. openapi-check.sh allows
// exactly the first two as violations; the others are not violations Prism
// can see but are listed because a client written from the spec would trip
// on them.
//
//   - Jobs that never started (queued, blocked, approval jobs on_hold,
//     not_run, canceled before they started) have "started_at": null. The spec
//     marks started_at required and not nullable.
//   - /me/collaborations items carry "vcs_type" (underscore), as CircleCI
//     cloud sends, not the spec's required "vcs-type".
//   - job_number is left out for jobs that never started and for all approval
//     jobs (it is optional in the spec, but clients often assume it).
//   - GET /workflow/{id}/job honours page-token, which the spec does not
//     declare for that operation; lists longer than 20 jobs have a
//     next_page_token.
//   - 429 answers have a plain-text body "Rate limited." (Content-Type
//     text/plain) instead of {"message": …}, with Retry-After in whole
//     seconds.
//   - An unknown token on /project/… routes answers 404 "Project not found",
//     not 401.
//   - Pipelines of circleci/… projects have no vcs object; their git data is in
//     trigger_parameters.git (vcs is optional in the spec).
//   - v1.1 GET /projects answers "following": false for every (followed)
//     project, as reported in circleci-docs#9132, has "branches": {}, and
//     answers EDN (application/edn) unless the Accept header asks for JSON.
//
// # Behaviours chosen where CircleCI is not documented
//
//   - Page size 20; page tokens as above.
//   - Workflow lists are newest first (a rerun comes before the workflow it
//     reran); job lists are in graph order.
//   - A malformed UUID in a path answers 400 {"message":"Invalid input: … must
//     be a UUID"}; an unknown one 404 "Pipeline not found", "Workflow not
//     found" or "User does not exist.".
//   - GET /pipeline without org-slug lists all visible projects; an org-slug
//     the token has no projects in gives an empty list. "github/…" and
//     "bitbucket/…" are accepted for "gh/…" and "bb/…", in org and project
//     slugs.
//   - Timestamps are UTC with milliseconds ("2025-12-31T23:42:49.796Z").
//   - JSON answers have Content-Type "application/json;charset=utf-8".
package circlecitest

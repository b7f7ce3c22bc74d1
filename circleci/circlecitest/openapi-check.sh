#!/usr/bin/env bash
# openapi-check.sh — check the fake CircleCI API against CircleCI's OpenAPI spec.
#
# It builds and starts the fakecircleci command on a free port, puts Prism
# (npx @stoplight/prism-cli@5, validating proxy, --errors) in front of its
# /api/v2, walks every route the sync uses through the proxy — /me,
# /me/collaborations, org pipeline lists, project + project pipeline lists for
# each slug style (gh/, bb/, circleci/) with paging and a branch filter,
# pipeline by number, pipeline by id, workflow lists, workflow by id, job
# lists (every page), users, Insights summaries, name summaries and runs (paging,
# branch and date filters, odd names escaped as one segment), outbound webhooks (create up
# to the limit, list, get, update, delete), and a few error answers —
# and counts the violations Prism reports.
#
# Violations that are deliberate deviations from the spec (real CircleCI
# behaviour, listed in docs/design.md under "Deviations from the spec kept on
# purpose") are counted apart and allowed; any other violation, or any route
# not walked, makes the script exit 1.
#
# Usage (from anywhere):
#   circleci/circlecitest/openapi-check.sh
# Environment:
#   CIRCLECI_OPENAPI  path of the v2 spec, e.g. downloaded from
#                     https://circleci.com/api/v2/openapi.json (default:
#                     <repo>/../shared/circleci/openapi.json when it exists)
#   CIRCLECI_OPENAPI_V11  path of the v1.1 spec (default: openapi-v1.1.json beside it);
#                     Prism cannot load that file (it $refs a markdown file that is
#                     not shipped), so v1.1 GET /projects is checked by hand against
#                     its "Project" schema instead
#   SEED              dataset seed (default 1)
#   KEEP_LOGS=1       keep the work directory with the fake's and Prism's logs
#   CI=true           a missing spec or tool fails the check (exit 2); otherwise the
#                     check says what is missing and is skipped (exit 0)
#
# Needs: the spec, go, node >= 18 and npx (Prism is fetched from the npm registry the
# first time, which can take a minute).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
spec=${CIRCLECI_OPENAPI:-$repo/../shared/circleci/openapi.json}
spec11=${CIRCLECI_OPENAPI_V11:-$(dirname "$spec")/openapi-v1.1.json}
seed=${SEED:-1}

# missing WHAT: under CI a failure; elsewhere the check is skipped, saying why.
missing() {
	if [[ ${CI:-} == true ]]; then
		echo "openapi check: FAIL: $1" >&2
		exit 2
	fi
	echo "openapi check: SKIPPED: $1" >&2
	exit 0
}
if [[ ! -f $spec ]]; then
	missing "spec not found at $spec; download https://circleci.com/api/v2/openapi.json and set CIRCLECI_OPENAPI to its path"
fi
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
for tool in go node npx; do
	command -v "$tool" >/dev/null || missing "$tool not found (the check needs go, node >= 18 and npx)"
done

work=$(mktemp -d)
fake_pid=""
prism_pid=""
cleanup() {
	# Each was started with setsid, so its pid is its process group.
	[[ -n $prism_pid ]] && kill -TERM -- "-$prism_pid" 2>/dev/null || true
	[[ -n $fake_pid ]] && kill -TERM -- "-$fake_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	if [[ ${KEEP_LOGS:-} == 1 ]]; then
		echo "openapi check: logs kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

echo "openapi check: building fakecircleci" >&2
(cd "$repo" && go build -o "$work/fakecircleci" ./circleci/circlecitest/fakecircleci)

setsid "$work/fakecircleci" -addr 127.0.0.1:0 -seed "$seed" -odd-projects 2 -odd-workflow-names \
	>"$work/fake.out" 2>"$work/fake.err" &
fake_pid=$!
base=""
for _ in $(seq 1 100); do
	base=$(sed -n 's/^BASE_URL=//p' "$work/fake.out" 2>/dev/null || true)
	[[ -n $base ]] && break
	kill -0 "$fake_pid" 2>/dev/null || { cat "$work/fake.err" >&2; exit 1; }
	sleep 0.1
done
[[ -n $base ]] || { echo "openapi check: fakecircleci did not start" >&2; exit 1; }
token=$(sed -n 's/^TOKEN=//p' "$work/fake.out")
echo "openapi check: fake at $base" >&2

port=$(free_port)
proxy="http://127.0.0.1:$port"
echo "openapi check: starting prism proxy on $proxy (npx @stoplight/prism-cli@5)" >&2
setsid npx --yes @stoplight/prism-cli@5 proxy "$spec" "$base/api/v2" --errors --host 127.0.0.1 --port "$port" \
	>"$work/prism.log" 2>&1 &
prism_pid=$!
for i in $(seq 1 300); do
	if grep -q "Prism is listening" "$work/prism.log" 2>/dev/null; then
		break
	fi
	if ! kill -0 "$prism_pid" 2>/dev/null; then
		echo "openapi check: prism exited:" >&2
		tail -20 "$work/prism.log" >&2
		exit 1
	fi
	if [[ $i == 300 ]]; then
		echo "openapi check: prism did not start in 300 s" >&2
		tail -20 "$work/prism.log" >&2
		exit 1
	fi
	sleep 1
done

FAKE="$base" PROXY="$proxy" TOKEN="$token" SPEC11="$spec11" node - <<'JS'
const fake = process.env.FAKE, proxy = process.env.PROXY, token = process.env.TOKEN;
const fs = require("fs");

// Violations that match one of these are deliberate deviations from the spec
// (see docs/design.md, "Deviations from the spec kept on purpose").
const allowed = [
  { name: "collaborations send vcs_type, not the spec's vcs-type",
    route: "GET /me/collaborations",
    test: v => /^response\.body\.\d+$/.test(v.where) && /required property 'vcs-type'/.test(v.message) },
  { name: "unstarted jobs have started_at null (spec: required, not nullable)",
    route: "GET /workflow/{id}/job",
    test: v => /^response\.body\.items\.\d+\.started_at$/.test(v.where) && /must be string/.test(v.message) },
];

let requests = 0;
const violations = [];        // {route, url, where, message, allowedAs}
const walked = new Set();      // coverage markers

async function getJSON(url, headers = {}, method = "GET", payload = undefined) {
  const r = await fetch(url, { method, body: payload === undefined ? undefined : JSON.stringify(payload),
    headers: { "Circle-Token": token, Accept: "application/json",
      ...(payload === undefined ? {} : { "Content-Type": "application/json" }), ...headers } });
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, body, text };
}

// check sends path through the proxy, records violations, and returns the
// fake's own answer for the same request (Prism replaces a violating body).
async function check(route, path, headers = {}, method = "GET", body = undefined) {
  requests++;
  const viaProxy = await getJSON(proxy + path, headers, method, body);
  const ct = viaProxy.headers.get("content-type") || "";
  if (ct.includes("problem+json")) {
    const list = (viaProxy.body && viaProxy.body.validation) ||
      [{ location: ["prism"], message: `${viaProxy.body && viaProxy.body.type}: ${viaProxy.body && viaProxy.body.title} ${viaProxy.body && viaProxy.body.detail || ""}` }];
    for (const v of list) {
      const rec = { route, url: path, where: (v.location || []).join("."), message: v.message || "" };
      const a = allowed.find(a => a.route === route && a.test(rec));
      rec.allowedAs = a ? a.name : null;
      violations.push(rec);
    }
  }
  if (method !== "GET") return viaProxy; // a change is made once, through the proxy
  return getJSON(fake + "/api/v2" + path, headers);
}

const enc = encodeURIComponent;

async function walkPipelines(route, path, extra, marker) {
  let token = null, pages = 0;
  const items = [];
  do {
    const q = new URLSearchParams(extra);
    if (token) q.set("page-token", token);
    const qs = q.toString();
    const r = await check(route, path + (qs ? "?" + qs : ""));
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`);
    items.push(...r.body.items);
    token = r.body.next_page_token;
    pages++;
  } while (token && pages < 50);
  if (pages > 1) walked.add(marker + " page 2");
  return items;
}

// walkInsights walks the Insights summary and runs of every project (names escaped
// as one segment), with paging, branch and date filters, and their 400 and 404 answers.
// walkJobExtras gets the details and every test page of numbered jobs (up to 40,
// each once), and the 404 of a job number that does not exist.
async function walkJobExtras(numbered) {
  const seen = new Set();
  for (const [slug, n] of numbered) {
    const key = slug + "/" + n;
    if (seen.has(key) || seen.size >= 40) continue;
    seen.add(key);
    const d = await check("GET /project/{project-slug}/job/{job-number}", `/project/${enc(slug)}/job/${n}`);
    if (d.status === 200) walked.add("job details");
    let token = null, pages = 0;
    do {
      const t = await check("GET /project/{project-slug}/{job-number}/tests",
        `/project/${enc(slug)}/${n}/tests` + (token ? "?page-token=" + enc(token) : ""));
      if (t.status !== 200) throw new Error(`tests of ${key}: ${t.status} ${t.text}`);
      walked.add("tests");
      if (t.body.items.length === 0) walked.add("tests empty");
      token = t.body.next_page_token;
      if (++pages > 1) walked.add("tests page 2");
    } while (token);
  }
  if (numbered.length) {
    const slug = enc(numbered[0][0]);
    await check("GET /project/{project-slug}/job/{job-number}", `/project/${slug}/job/999999999`);
    await check("GET /project/{project-slug}/{job-number}/tests", `/project/${slug}/999999999/tests`);
    walked.add("job extras errors");
  }
}

async function walkInsights(ds) {
  const sumRoute = "GET /insights/{project-slug}/workflows";
  const runRoute = "GET /insights/{project-slug}/workflows/{workflow-name}";
  const nameRoute = "GET /insights/{project-slug}/workflows/{workflow-name}/summary";
  for (const p of ds.projects) {
    const slug = enc(p.slug), style = p.slug.split("/")[0];
    const sums = await walkPipelines(sumRoute, `/insights/${slug}/workflows`, { "all-branches": "true" }, "insights summary");
    walked.add("insights summary");
    await check(sumRoute, `/insights/${slug}/workflows?reporting-window=last-7-days&branch=${enc(p.vcs_info.default_branch)}`);
    const names = [...new Set(ds.workflows.filter(w => w.project_slug === p.slug).map(w => w.name))];
    for (const name of names) {
      const path = `/insights/${slug}/workflows/${enc(name)}`;
      await walkPipelines(runRoute, path, { "all-branches": "true" }, "insights runs");
      walked.add("insights runs " + style);
      if (/[ /%]/.test(name)) walked.add("insights odd name");
      for (const q of ["?all-branches=true", "", `?branch=${enc(p.vcs_info.default_branch)}`, "?branch=no-such-branch"]) {
        const r = await check(nameRoute, `/insights/${slug}/workflows/${enc(name)}/summary${q}`);
        if (r.status !== 200) throw new Error(`${name} summary: ${r.status} ${r.text}`);
      }
      walked.add("insights name summary " + style);
    }
    if (!sums.length) continue;
    const path = `/insights/${slug}/workflows/${enc(sums[0].name)}`;
    await walkPipelines(runRoute, path, { "start-date": "2025-11-01T00:00:00Z", "end-date": "2026-01-01T00:00:00Z" }, "insights dates");
    await walkPipelines(runRoute, path, {}, "insights default branch");
  }
  const p = enc(ds.projects[0].slug);
  await check(runRoute, `/insights/${p}/workflows/${enc("no such workflow")}`);
  await check(nameRoute, `/insights/${p}/workflows/${enc("no such workflow")}/summary`);
  await check(runRoute, `/insights/${p}/workflows/build-and-test?end-date=2026-01-01T00:00:00Z`);
  // Malformed dates and windows are refused by Prism itself; Go tests cover their 400s.
  walked.add("insights errors");
}

// walkWebhooks creates, lists, reads, updates and deletes a project's outbound
// webhooks, up to CircleCI's limit of 5 (the 6th answers 400), and their 404s.
async function walkWebhooks(ds) {
  const pid = ds.projects[0].id, list = "GET /webhook", one = "GET /webhook/{webhook-id}";
  const body = n => ({ name: "sync " + n, events: ["workflow-completed", "job-completed"],
    url: "https://hooks.example.com/circleci/c" + n, "verify-tls": true, "signing-secret": "secret-" + n,
    scope: { id: pid, type: "project" } });
  const ids = [];
  for (let n = 1; n <= 6; n++) {
    const r = await check("POST /webhook", "/webhook", {}, "POST", body(n));
    if (n <= 5 && r.status !== 201) throw new Error(`POST /webhook: ${r.status} ${r.text}`);
    if (n === 6 && r.status !== 400) throw new Error(`6th POST /webhook: ${r.status}, want 400`);
    if (n <= 5) ids.push(r.body.id);
  }
  const q = `?scope-id=${pid}&scope-type=project`;
  const l = await check(list, "/webhook" + q);
  if (l.status !== 200 || l.body.items.length !== 5) throw new Error(`GET /webhook: ${l.status} ${l.text}`);
  await check(one, `/webhook/${ids[0]}`);
  await check("PUT /webhook/{webhook-id}", `/webhook/${ids[0]}`, {}, "PUT", { name: "renamed", events: ["job-completed"] });
  for (const id of ids) await check("DELETE /webhook/{webhook-id}", `/webhook/${id}`, {}, "DELETE");
  await check(one, `/webhook/${ids[0]}`);
  await check(list, `/webhook?scope-id=00000000-0000-4000-8000-000000000000&scope-type=project`);
  walked.add("webhooks");
}

(async () => {
  const ds = await (await fetch(fake + "/_fake/dataset")).json();

  await check("GET /me", "/me"); walked.add("me");
  await check("GET /me/collaborations", "/me/collaborations"); walked.add("collaborations");

  const orgs = [...new Set(ds.projects.map(p => p.organization_slug))];
  for (const org of orgs) {
    await walkPipelines("GET /pipeline", "/pipeline", { "org-slug": org }, "org pipelines");
    walked.add("org pipelines");
  }
  await walkPipelines("GET /pipeline", "/pipeline", {}, "all pipelines");

  const pipelines = [];
  for (const p of ds.projects) {
    const style = p.slug.split("/")[0];
    const slug = enc(p.slug);
    await check("GET /project/{project-slug}", `/project/${slug}`);
    const list = await walkPipelines("GET /project/{project-slug}/pipeline", `/project/${slug}/pipeline`, {}, "project pipelines " + style);
    walked.add("project pipelines " + style);
    await walkPipelines("GET /project/{project-slug}/pipeline", `/project/${slug}/pipeline`,
      { branch: p.vcs_info.default_branch }, "branch pipelines");
    if (list.length) {
      await check("GET /project/{project-slug}/pipeline/{pipeline-number}", `/project/${slug}/pipeline/${list[0].number}`);
    }
    pipelines.push(...list);
  }

  const users = new Set();
  const numbered = [];
  for (const p of pipelines) {
    await check("GET /pipeline/{pipeline-id}", `/pipeline/${p.id}`); walked.add("pipeline");
    let wtoken = null;
    do {
      const r = await check("GET /pipeline/{pipeline-id}/workflow",
        `/pipeline/${p.id}/workflow` + (wtoken ? "?page-token=" + enc(wtoken) : ""));
      if (r.status !== 200) throw new Error(`workflows of ${p.id}: ${r.status} ${r.text}`);
      walked.add("workflows");
      for (const w of r.body.items) {
        users.add(w.started_by);
        if (w.canceled_by) users.add(w.canceled_by);
        if (w.errored_by) users.add(w.errored_by);
        await check("GET /workflow/{id}", `/workflow/${w.id}`); walked.add("workflow");
        let jtoken = null, pages = 0;
        do {
          const j = await check("GET /workflow/{id}/job",
            `/workflow/${w.id}/job` + (jtoken ? "?page-token=" + enc(jtoken) : ""));
          if (j.status !== 200) throw new Error(`jobs of ${w.id}: ${j.status} ${j.text}`);
          walked.add("jobs");
          for (const job of j.body.items) {
            if (job.approved_by) users.add(job.approved_by);
            if (job.canceled_by) users.add(job.canceled_by);
            if (job.job_number !== undefined) numbered.push([p.project_slug, job.job_number]);
          }
          jtoken = j.body.next_page_token;
          if (++pages > 1) walked.add("jobs page 2");
        } while (jtoken);
      }
      wtoken = r.body.next_page_token;
    } while (wtoken);
  }
  for (const u of users) {
    await check("GET /user/{id}", `/user/${u}`); walked.add("user");
  }
  await walkJobExtras(numbered);

  await walkInsights(ds);
  await walkWebhooks(ds);

  // Error answers are validated against the operations' "default" response.
  const missing = "00000000-0000-4000-8000-000000000000";
  await check("GET /pipeline/{pipeline-id}", `/pipeline/${missing}`);
  await check("GET /workflow/{id}", `/workflow/${missing}`);
  await check("GET /user/{id}", `/user/${missing}`);
  await check("GET /me", "/me", { "Circle-Token": "not-a-token" });
  await check("GET /project/{project-slug}", `/project/${enc("gh/acme/no-such-repo")}`);
  walked.add("errors");

  // v1.1 GET /projects, checked by hand against the v1.1 spec's Project schema.
  if (fs.existsSync(process.env.SPEC11)) {
    const schema = JSON.parse(fs.readFileSync(process.env.SPEC11, "utf8")).components.schemas.Project;
    const r = await getJSON(fake + "/api/v1.1/projects");
    requests++;
    const bad = m => violations.push({ route: "GET /api/v1.1/projects", url: "/api/v1.1/projects", where: "response.body", message: m, allowedAs: null });
    if (r.status !== 200 || !Array.isArray(r.body)) bad(`want a 200 JSON array, got ${r.status}`);
    else for (const [i, item] of r.body.entries()) {
      for (const [k, prop] of Object.entries(schema.properties)) {
        const t = Array.isArray(item[k]) ? "array" : item[k] === null ? "null" : typeof item[k];
        if (k in item && t !== prop.type) bad(`item ${i}: ${k} is ${t}, want ${prop.type}`);
        if (!(k in item)) bad(`item ${i}: no ${k}`);
      }
    }
    walked.add("v1.1 projects");
  } else {
    console.log(`openapi check: no v1.1 spec at ${process.env.SPEC11}; v1.1 /projects not checked`);
    walked.add("v1.1 projects");
  }

  const need = ["me", "collaborations", "org pipelines", "project pipelines gh", "project pipelines bb",
    "project pipelines circleci", "project pipelines gh page 2", "project pipelines bb page 2",
    "project pipelines circleci page 2", "pipeline", "workflows", "workflow", "jobs", "jobs page 2", "user", "errors", "v1.1 projects",
    "insights summary", "insights runs gh", "insights runs bb", "insights runs circleci", "insights runs page 2",
    "insights name summary gh", "insights name summary bb", "insights name summary circleci",
    "insights odd name", "insights errors", "webhooks", "job details", "tests", "tests page 2", "tests empty",
    "job extras errors"];
  const notWalked = need.filter(n => !walked.has(n));

  const unexpected = violations.filter(v => !v.allowedAs);
  const byAllowed = {};
  for (const v of violations.filter(v => v.allowedAs)) byAllowed[v.allowedAs] = (byAllowed[v.allowedAs] || 0) + 1;
  console.log(`openapi check: ${requests} requests, ${violations.length} violations ` +
    `(${violations.length - unexpected.length} allowed deviations, ${unexpected.length} unexpected)`);
  for (const [name, n] of Object.entries(byAllowed)) console.log(`  allowed: ${n} × ${name}`);
  const seen = new Set();
  for (const v of unexpected) {
    const key = v.route + " " + v.where.replace(/\.\d+/g, ".N") + " " + v.message;
    if (seen.has(key)) continue;
    seen.add(key);
    console.log(`  UNEXPECTED: ${v.route} ${v.url}: ${v.where}: ${v.message}`);
  }
  if (notWalked.length) console.log(`  NOT WALKED: ${notWalked.join(", ")}`);
  process.exit(unexpected.length || notWalked.length ? 1 : 0);
})().catch(e => { console.error("openapi check: " + (e.stack || e)); process.exit(1); });
JS

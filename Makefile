# circleci-sync: every target runs from a fresh clone; tools install themselves.
SHELL := /bin/bash
GO ?= go
# Tools built from the Go module proxy live outside the work tree so that clones share them.
TOOLS_BIN ?= $(HOME)/.cache/circleci-sync/bin
STATICCHECK_VERSION ?= v0.8.2
PKGS := ./...

.PHONY: run test lint fake openapi-check bench bench-extras bench-scale bench-fairness bench-fanout bench-ratelimit bench-fleet bench-webhooks fuzz fuzz-ci tools build worker clean

## run: the main job (see README.md, "Quick start").
run:
	@TOOLS_BIN=$(TOOLS_BIN) bash scripts/run.sh

## test: every test: go vet, the Go tests, the fake's OpenAPI conformance check, the
## static check of docker-compose.yml, and every fuzz target for a bounded time (fuzz-ci).
## PostgreSQL store tests run when TEST_DATABASE_URL is set; the OpenAPI check needs the
## spec (CIRCLECI_OPENAPI) and node/npx, the compose check docker-compose. Outside CI a
## missing input or tool skips its check with a message; under CI=true it fails.
## The Temporal tests use the CLI's dev server, installed first by `make tools`.
test: tools
	$(GO) vet $(PKGS)
	TEMPORAL_CLI=$${TEMPORAL_CLI:-$(TOOLS_BIN)/temporal} $(GO) test -count=1 -timeout 45m $(PKGS)
	bash circleci/circlecitest/openapi-check.sh
	bash scripts/check-compose.sh
	bash scripts/fuzz.sh

## tools: install the Temporal CLI (and its dev server) into TOOLS_BIN, unless it is there:
## built from the Go module proxy, about 4 minutes the first time.
tools:
	@TOOLS_BIN=$(TOOLS_BIN) GO=$(GO) bash scripts/install-temporal.sh >/dev/null

## build: the commands, into .tmp/bin: worker, starter, webhook, fakecircleci.
build:
	mkdir -p .tmp/bin
	$(GO) build -o .tmp/bin/ ./worker ./starter ./webhook ./circleci/circlecitest/fakecircleci

## worker: run the worker against the configured Temporal (TEMPORAL_ADDRESS, ...) and DATABASE_URL.
worker:
	$(GO) run ./worker

## lint: gofmt, go vet and staticcheck.
lint: $(TOOLS_BIN)/staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(TOOLS_BIN)/staticcheck $(PKGS)

$(TOOLS_BIN)/staticcheck:
	mkdir -p $(TOOLS_BIN)
	cd /tmp && GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## fake: serve the fake CircleCI API (flags: make fake FAKE_FLAGS="-addr 127.0.0.1:8080 -latency 30ms").
fake:
	$(GO) run ./circleci/circlecitest/fakecircleci $(FAKE_FLAGS)

## openapi-check: validate every fake response against CircleCI's OpenAPI spec
## (CIRCLECI_OPENAPI) through Prism.
openapi-check:
	bash circleci/circlecitest/openapi-check.sh

## bench: benchmarks, printing figures: the store's upserts (rows/s), then the sync benchmark
## (e2e BenchmarkSync: full and incremental syncs through Temporal with the worker as a process and
## the fake CircleCI over HTTP, latency- and budget-bound, against a plain-loop baseline, and the
## worker's RSS on a 5x dataset; about 12 minutes on 2 cores; BENCH_* variables shorten it, see
## e2e/benchconfig_test.go). PostgreSQL when TEST_DATABASE_URL is set.
bench: tools
	@mkdir -p .tmp
	set -o pipefail; $(GO) test -run '^$$' -bench . -benchtime 2s ./store/ | tee .tmp/store-bench.txt
	TEMPORAL_CLI=$${TEMPORAL_CLI:-$(TOOLS_BIN)/temporal} BENCH_STORE_RESULTS=$(CURDIR)/.tmp/store-bench.txt \
		$(GO) test -run '^$$' -bench '^BenchmarkSync$$' -benchtime 1x -timeout 60m ./e2e/
	$(MAKE) --no-print-directory bench-extras
	$(MAKE) --no-print-directory bench-fanout
	@if [ "$${BENCH_SKIP_WEBHOOKS:-}" != 1 ]; then $(MAKE) --no-print-directory bench-webhooks; fi
	@if [ "$${BENCH_SKIP_SCALE:-}" != 1 ]; then $(MAKE) --no-print-directory bench-scale; fi
	@if [ "$${BENCH_SKIP_FLEET:-}" != 1 ]; then $(MAKE) --no-print-directory bench-fleet; fi

# e2e_bench runs the e2e benchmark $(1) once, with the dev server's CLI, for at most $(2).
e2e_bench = TEMPORAL_CLI=$${TEMPORAL_CLI:-$(TOOLS_BIN)/temporal} \
	$(GO) test -run '^$$' -bench '^$(1)$$' -benchtime 1x -timeout $(2) ./e2e/

## bench-scale: one organisation of BENCH_SCALE_PROJECTS projects (default 10,000) synced to the
## end (e2e BenchmarkOrgScale): wall time, requests, largest histories and continue-as-new input.
## About 25 minutes on 2 cores; `make bench` runs it last unless BENCH_SKIP_SCALE=1.
bench-scale: tools
	$(call e2e_bench,BenchmarkOrgScale,3h)

## bench-extras: issue 15's figures: a full sync with include job_details and tests against the
## least requests, an incremental cycle's extras requests, and the worker's RSS while a job of
## BENCH_EXTRAS_BIG (100,000) test results is read. PostgreSQL when TEST_DATABASE_URL is set.
bench-extras: tools
	$(call e2e_bench,BenchmarkJobExtras,30m)

## bench-fairness: five small organisations' first syncs alone, then beside a 50-project one on
## one worker: worker defaults with fairness on and off, then 12 slots saturated by the big one (on, off)
## and the big one bounded to 8 projects (e2e BenchmarkFairness); about 5 minutes.
bench-fairness: tools
	$(call e2e_bench,BenchmarkFairness,30m)

## bench-fanout: one organisation of a long project (1,500 pipelines) and 40 short ones, 4 at once, on a
## dev server that suggests continue-as-new at 300 events (e2e BenchmarkFanOutBesideALongProject): when
## the short ones are done, the whole sync, the connection's runs and how full its fan-out was. About a
## minute; `make bench` runs it.
bench-fanout: tools
	$(call e2e_bench,BenchmarkFanOutBesideALongProject,30m)

## bench-ratelimit: the adaptive limiter against the fake's token bucket over HTTP (circleci
## BenchmarkAdaptiveLimiter): budgets 2-100 requests/s × 1, 2 and 4 limiters on one token (each its
## own http client, as worker processes), deeper buckets and drops of the budget; the table in
## docs/rate-limits.md. About 7 minutes.
bench-ratelimit:
	$(GO) test -run '^$$' -bench '^BenchmarkAdaptiveLimiter$$' -benchtime 1x -timeout 30m ./circleci/

## bench-fleet: 500 projects × 40 pipelines as 50 connections of 10 projects on 3 worker processes and
## one dev server (e2e BenchmarkFleet): a full sync, three steps of activity, an incremental cycle;
## wall, requests over the minimum, history events, worker RSS, rows/s, each connection's time.
## About 15 minutes on 2 cores; `make bench` runs it last unless BENCH_SKIP_FLEET=1.
## PostgreSQL when TEST_DATABASE_URL is set. BENCH_FLEET_* variables resize it (e2e/benchfleet_test.go).
bench-fleet: tools
	$(call e2e_bench,BenchmarkFleet,2h)

## bench-webhooks: the webhook path (e2e BenchmarkWebhooks): event received → rows committed at
## 30 ms per CircleCI request, requests per pipeline and for a burst, 1,000 events a minute, and
## Temporal unreachable from the receiver for 20 s; about 6 minutes. `make bench` runs it unless
## BENCH_SKIP_WEBHOOKS=1. PostgreSQL when TEST_DATABASE_URL is set.
bench-webhooks: tools
	$(call e2e_bench,BenchmarkWebhooks,30m)

## fuzz: each fuzz target for a bounded time (FUZZTIME, default 30s).
FUZZTIME ?= 30s
fuzz:
	@for target in $$($(GO) test -list '^Fuzz' ./circleci/ | grep '^Fuzz'); do \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./circleci/ || exit 1; done
	@for target in $$($(GO) test -list '^Fuzz' ./store/ | grep '^Fuzz'); do \
		$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) ./store/ || exit 1; done

## fuzz-ci: every fuzz target of every package, each for FUZZTIME (default 10s here), failing on
## any crasher (scripts/fuzz.sh names the input it wrote under testdata/fuzz/). About 1 min.
FUZZTIME_CI ?= 10s
fuzz-ci:
	FUZZTIME=$(if $(filter command line environment,$(origin FUZZTIME)),$(FUZZTIME),$(FUZZTIME_CI)) GO=$(GO) \
		bash scripts/fuzz.sh

clean:
	rm -rf data .tmp

.PHONY: compose-check
## compose-check: static checks of docker-compose.yml and deploy/ with docker-compose 1.29
## (skipped when missing, installed as root under CI=true; no Docker engine needed).
compose-check:
	bash scripts/check-compose.sh

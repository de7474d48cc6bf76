# latch: the two commands are `make run` and `make test`.
GO      ?= go
SHELL   := /bin/bash
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test test-short deps lint check-structure screenshots bench bench-scale fuzz clean

# staticcheck, pinned: `make lint` installs this version into ./bin when it
# is missing. Bump both together (2026.2.2 is module version v0.8.2).
STATICCHECK_VERSION := v0.8.2
STATICCHECK := bin/staticcheck-$(STATICCHECK_VERSION)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/latch ./cmd/latch

# Starts latch with its own PostgreSQL under ./latch-data, plus the demo apps;
# ARGS go to latch dev: make run ARGS='--addr :8081 --demo-ports 9101,9102,9103'
run: deps build
	./bin/latch dev $(ARGS)

# Installs what the tests need (PostgreSQL's server programs), then vets and
# runs every test with the race detector against real PostgreSQL.
test: deps
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) build -o bin/testprogress ./internal/testprogress
	set -o pipefail; $(GO) test -json -race -count=1 -parallel 4 -timeout 14m ./... | bin/testprogress

# The packages whose tests drive no browser (all but those that are or
# import internal/browsertest: today cmd/latch's end-to-end tests), against
# real PostgreSQL, without the race detector: under a minute.
SHORT_PKGS = $(shell $(GO) list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... \
	| awk '!/\/internal\/browsertest( |$$)/ { print $$1 }')
test-short: deps
	$(GO) test -short -count=1 $(SHORT_PKGS)

deps:
	@scripts/install-deps.sh

# gofmt, go vet, staticcheck (its default checks; none is turned off) and
# the README's import table (check-structure).
lint: $(STATICCHECK)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@GO=$(GO) scripts/check-structure.sh

# The README's pictures of the sessions page (docs/sessions.png, and
# docs/sessions-phone-dark.png at 390 px in the dark), taken again from a real
# latch in headless Chromium by the accessibility test, which checks the page
# on the way. make test takes them too, into a temporary directory.
screenshots: deps
	LATCH_DOCS_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run '^TestAccessibilityInBrowser$$' ./cmd/latch

# The README's table of each package's latch imports against `go list`.
check-structure:
	@GO=$(GO) scripts/check-structure.sh

$(STATICCHECK):
	GOBIN=$(CURDIR)/bin/staticcheck.tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv bin/staticcheck.tmp/staticcheck $@
	rmdir bin/staticcheck.tmp

bench: deps
	$(GO) test -run '^$$' -bench . -benchmem -timeout 0 ./...

# Seeds a fresh database at each size of ROWS (total rows) and measures
# refresh, userinfo, introspection, the code exchange, ending a session and
# the sessions page at each; prints the table in BENCHMARKS.md.
ROWS ?= 10000,1000000,10000000
bench-scale: deps
	LATCH_SCALE_ROWS=$(ROWS) $(GO) test -count=1 -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 0 ./cmd/latch

# Runs every fuzz target for FUZZTIME each (default 30s); `make test` runs
# their seed corpora only.
fuzz: deps
	GO=$(GO) scripts/fuzz.sh

clean:
	rm -rf bin

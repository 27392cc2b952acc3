# Frontdesk: the two commands a new user needs are `make dev` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
FUNCTIONS := ehr-api whatsapp-webhook reminder-sweep sender inbound ehr-notifier
BUILD_DIR := build
GO ?= go
# Bounded fuzzing per target inside `make test`, as a number of executions: a time
# budget (-fuzztime=10s) lets Go 1.26's fuzz coordinator fail with "context deadline
# exceeded" at the boundary under load (golang/go#75804), which would make CI flaky.
# Raise it locally for longer runs (e.g. FUZZTIME=2000000x, or FUZZTIME=60s by hand).
FUZZTIME ?= 100000x

# Tools installed with `go install` at pinned versions into a gitignored folder.
TOOLS_BIN := $(CURDIR)/.local/bin
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
RIE := $(TOOLS_BIN)/aws-lambda-rie-$(RIE_VERSION)
# Cold starts per function in bench-coldstart (the median is reported).
COLDSTART_N ?= 7

.PHONY: race help deps build dev test vet lint unit synth fuzz clean openapi-spec bench bench-coldstart chromium

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@# The CDK CLI ships Go template files; a go.mod here keeps them out of ./...
	@printf 'module frontdesk.invalid/node_modules\n' > node_modules/go.mod
	@touch $@

deps: node_modules/.package-lock.json ## install Node tools (DynamoDB Local, CDK CLI) and Go modules
	$(GO) mod download

build: ## build every Lambda as an arm64 bootstrap under build/<function>/
	@for f in $(FUNCTIONS); do \
		echo "build $$f"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o $(BUILD_DIR)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

dev: deps openapi-spec ## run the whole system locally (API on 127.0.0.1:8080, Graph API stand-in on :8089)
	$(GO) run ./scripts/dev

vet:
	$(GO) vet ./...

$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(TOOLS_BIN)/golangci-lint $@

lint: $(GOLANGCI_LINT) ## golangci-lint (.golangci.yml) at the pinned version
	$(GOLANGCI_LINT) run ./...

unit: deps build race
	$(GO) run ./scripts/localstack -- $(GO) test -count=1 ./...

# The race detector over the packages that run work concurrently (the queue
# consumer and poller, the inbox, the sender, the in-memory store, the classifier
# they share): under a minute, not the whole suite's minutes.
RACE_PKGS ?= ./shared/conversation/ ./shared/queue/ ./shared/memstore/ ./shared/inbox/ ./shared/outbound/ ./shared/outreach/
race: deps
	$(GO) run ./scripts/localstack -- $(GO) test -count=1 -race $(RACE_PKGS)

fuzz:
	@for spec in $$($(GO) run ./scripts/fuzztargets); do \
		pkg=$${spec%%:*}; name=$${spec##*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

synth: deps ## synthesize the CDK app offline (cdk-nag errors fail it) and lint the template with cfn-lint
	npx cdk synth -q --no-notices
	./scripts/cfnlint.sh

# The console's browser tests drive Debian's chromium; install it where apt-get can,
# otherwise stop with one line naming the package.
chromium: ## make sure Chromium is installed (the console's browser tests)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	{ if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium for the console's browser tests"; \
		apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	  else echo "make test needs Chromium: install the package chromium (apt-get install chromium)"; exit 1; fi; }

test: deps openapi-spec chromium vet lint unit synth fuzz ## run every test: vet, lint, unit + integration (local servers), CDK synth + cdk-nag + cfn-lint, fuzzing

bench: ## reminder throughput, sweep scaling, per-handler cost and conversation latency (slow; not part of make test)
	$(GO) run ./scripts/localstack -- $(GO) run ./scripts/bench -case throughput
	$(GO) run ./scripts/localstack -- $(GO) run ./scripts/bench -case sweep
	$(GO) run ./scripts/localstack -- $(GO) run ./scripts/bench -case cost
	$(GO) run ./scripts/bench -case conversation

$(RIE):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	mv $(TOOLS_BIN)/aws-lambda-rie $@

bench-coldstart: deps $(RIE) ## each Lambda's cold start under AWS's runtime interface emulator, beside a Go hello-world
	$(GO) run ./scripts/localstack -- $(GO) run ./scripts/coldstart -rie $(RIE) -n $(COLDSTART_N) -inittrace

openapi-spec: ## make sure Meta's WhatsApp OpenAPI spec is here: download it at a pinned commit (SHA-256 checked) where ../shared/reference lacks it
	$(GO) run ./scripts/openapispec

clean:
	rm -rf $(BUILD_DIR) cdk.out

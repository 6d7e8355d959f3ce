# Tokutei.Routing — the two set-up commands are `make run` and `make test`; everything they need is installed here.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CONFIG ?= Release
SLN := Tokutei.Routing.sln
SERVER := src/Tokutei.Routing.Server
BUF := node_modules/.bin/buf
# The Google protos the contract imports (google/type, google/rpc) come from the Google.Api.CommonProtos package.
COMMONPROTOS_VERSION := $(shell sed -n 's/.*"Google.Api.CommonProtos" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)
NUGET_PACKAGES ?= $(shell dotnet nuget locals global-packages -l | sed 's/^global-packages: //')
GOOGLE_PROTOS := protos/.deps/googleapis
TEST_LOG := artifacts/test.log

.PHONY: help run test build restore tools proto-deps reference clean

# Each area adds its own targets, and what `make test` must run before the test suites, in mk/*.mk.
TEST_PREREQS :=
include $(wildcard mk/*.mk)

help:
	@echo "make run    start the server in the embedded default on http://127.0.0.1:5080 (no Redis needed)"
	@echo "make test   install what the tests need, build, run every test"
	@echo "make reference   rebuild data/reference from ../shared/reference"

restore:
	dotnet restore $(SLN) --locked-mode

build: restore
	dotnet build $(SLN) -c $(CONFIG) --no-restore

## Node tools pinned by package-lock.json (buf).
tools: $(BUF)
$(BUF): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## A link to the Google protos of the restored NuGet package, for buf (git-ignored).
proto-deps: restore
	mkdir -p protos/.deps
	ln -sfn "$(NUGET_PACKAGES)google.api.commonprotos/$(COMMONPROTOS_VERSION)/content/protos" $(GOOGLE_PROTOS)
	test -f $(GOOGLE_PROTOS)/google/type/date.proto

run: restore
	ASPNETCORE_ENVIRONMENT=$${ASPNETCORE_ENVIRONMENT:-Development} Security__AllowUnauthenticated=$${Security__AllowUnauthenticated:-true} \
	  dotnet run --project $(SERVER) -c $(CONFIG) --no-launch-profile

test: build tools proto-deps $(TEST_PREREQS)
	mkdir -p artifacts
	status=0; dotnet test --solution $(SLN) -c $(CONFIG) --no-build 2>&1 | tee $(TEST_LOG) || status=$$?; \
	  bash tools/test-summary $(TEST_LOG) && exit $$status

reference:
	python3 tools/build_reference.py

clean:
	dotnet clean $(SLN) -c $(CONFIG) >/dev/null
	rm -rf artifacts protos/.deps

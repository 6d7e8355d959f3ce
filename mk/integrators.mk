# The integrators' kit: proto hygiene (lint, breaking changes against the released contract, a descriptor set for
# tools), the conformance run against any deployment, and the `tokutei` CLI. docs/integrators.md explains each.

# The contract as a descriptor set (FileDescriptorSet with imports and comments), for tools that want one.
CONTRACT_IMAGE := artifacts/tokutei-routing-v1.binpb
# The last released contract: `buf breaking` compares the protos with it. Cut a new one with `make proto-baseline`
# when a contract version is released, and commit it.
CONTRACT_BASELINE := protos/baseline/v1.binpb
TOKUTEI_CLI := src/Tokutei.Routing.Cli/bin/$(CONFIG)/net10.0/tokutei.dll

.PHONY: proto-lint proto-breaking proto-image proto-baseline conformance

TEST_PREREQS += proto-lint proto-breaking proto-image

## buf lint: STANDARD + COMMENTS (protos/buf.yaml).
proto-lint: tools proto-deps
	cd protos && ../$(BUF) lint

## buf breaking (FILE rules) against the committed baseline of the last released contract.
proto-breaking: tools proto-deps
	cd protos && ../$(BUF) breaking --path tokutei --against ../$(CONTRACT_BASELINE)

## The descriptor set of the contract and its imports.
proto-image: tools proto-deps
	mkdir -p $(dir $(CONTRACT_IMAGE))
	cd protos && ../$(BUF) build --path tokutei -o ../$(CONTRACT_IMAGE)

## Cut a new baseline from the protos as they are (on a contract release only; see docs/integrators.md).
proto-baseline: tools proto-deps
	cd protos && ../$(BUF) build --path tokutei -o ../$(CONTRACT_BASELINE)

## Run the example corpus against a deployment: make conformance TARGET=host:port [CONFORMANCE_FLAGS="--tls --ca ca.pem"]
## (TARGET defaults to $$TOKUTEI_TARGET, else the `make run` server on 127.0.0.1:5080).
conformance: build
	dotnet $(TOKUTEI_CLI) conformance $(if $(TARGET),--target $(TARGET)) $(CONFORMANCE_FLAGS)

# The delivery history test (tests/Tokutei.Routing.Server.Tests/History) as a soak: three replicas, a durable Redis
# and a real intake under the nemesis for ten minutes, then the invariant checks.
#   make soak                           600 s of workload with every fault
#   make soak SOAK_SECONDS=120 SOAK_FAULTS=KillReplica,SlowIntake
#   make soak SOAK_FAULTS=none          the sanity run: the same workload with no fault
# The report, the raw history (calls.tsv, deliveries.tsv, observations.tsv, stored.tsv) and the replicas' logs go
# to artifacts/soak/. Not part of `make test`, which runs the same test for 30 s: nothing here is added to
# TEST_PREREQS. Every process it starts listens on 127.0.0.1 and the run is bounded in time.
SOAK_SECONDS ?= 600
SOAK_SETTLE_SECONDS ?= 60
SOAK_FAULTS ?= all
SOAK_DIR := $(CURDIR)/artifacts/soak
SOAK_TEST := Tokutei.Routing.Server.Tests.History.DeliveryHistoryTests

.PHONY: soak

soak: build redis
	rm -rf $(SOAK_DIR) && mkdir -p $(SOAK_DIR)
	status=0; TOKUTEI_SOAK_SECONDS=$(SOAK_SECONDS) TOKUTEI_SOAK_SETTLE_SECONDS=$(SOAK_SETTLE_SECONDS) \
	  TOKUTEI_SOAK_FAULTS=$(SOAK_FAULTS) TOKUTEI_SOAK_REPORT=$(SOAK_DIR) \
	  dotnet test --project tests/Tokutei.Routing.Server.Tests -c $(CONFIG) --no-build --filter-class '$(SOAK_TEST)' 2>&1 \
	  | tee $(SOAK_DIR)/test.log || status=$$?; \
	  bash tools/test-summary $(SOAK_DIR)/test.log && exit $$status

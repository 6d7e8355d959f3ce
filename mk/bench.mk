# Benchmarks (bench/): throughput, latency and cost per case of the routing server against a bare gRPC echo on the
# same Kestrel and gRPC settings, delivery to an external intake against the accept rate of the same run, and
# RouteCase on a loopback Redis Cluster (3 primaries + 3 replicas, formed with redis-cli from `make redis`) against a
# single node, measured in one run on this machine (bench/README.md says how).
#   make bench         the full run, about fifteen minutes: bench/results/ (results.json, results.md, latency.png,
#                      README-section.md)
#   make bench-quick   a smoke run of about four minutes: bench/results/tmp/quick/ (git-ignored)
# Neither is part of `make test`: nothing here is added to TEST_PREREQS. Every load targets 127.0.0.1 and is
# bounded in time. The load tools and the plotting library are Debian's packages, pinned like redis-server.
H2LOAD_VERSION := 1.52.0-1+deb12u3
HYPERFINE_VERSION := 1.15.0-2
MATPLOTLIB_VERSION := 3.6.3-1+b1
BENCH_PACKAGES := nghttp2-client=$(H2LOAD_VERSION) hyperfine=$(HYPERFINE_VERSION) python3-matplotlib=$(MATPLOTLIB_VERSION)
BENCH_DLL := bench/Tokutei.Routing.Bench/bin/Release/net10.0/Tokutei.Routing.Bench.dll

.PHONY: bench bench-quick bench-tools

# The driver runs the Release builds of the server, the echo and the rules benchmark.
bench bench-quick: CONFIG = Release

## h2load (nghttp2-client), hyperfine and python3-matplotlib at the pinned versions (as root, with apt).
bench-tools:
	@missing=""; for spec in $(BENCH_PACKAGES); do \
	  name=$${spec%%=*}; version=$${spec#*=}; \
	  dpkg-query -W -f='$${Version}' "$$name" 2>/dev/null | grep -qxF "$$version" || missing="$$missing $$spec"; \
	done; \
	if [ -z "$$missing" ]; then echo "bench tools installed: $(BENCH_PACKAGES)"; exit 0; fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq; \
	for spec in $$missing; do \
	  name=$${spec%%=*}; version=$${spec#*=}; \
	  if apt-cache madison "$$name" | grep -qF " $$version "; then \
	    apt-get install -y -qq "$$spec"; \
	  else \
	    echo "warning: $$name $$version is no longer served; installing the current package (update mk/bench.mk)" >&2; \
	    apt-get install -y -qq "$$name"; \
	  fi; \
	done
	@h2load --version && hyperfine --version && /usr/bin/python3 -c 'import matplotlib; print("matplotlib", matplotlib.__version__)'

bench: build redis bench-tools
	dotnet $(BENCH_DLL) --mode full

bench-quick: build redis bench-tools
	dotnet $(BENCH_DLL) --mode quick

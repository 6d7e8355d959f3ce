# Redis for the durable-mode tests: Debian's redis-server and redis-tools (redis-cli, which forms and reshards the
# topology tests' clusters), pinned. Sentinels run as `redis-server <conf> --sentinel`, so the redis-sentinel package is
# not needed. The tests start their own servers on free loopback ports; nothing here starts a service.
REDIS_VERSION := 5:7.0.15-1~deb12u10
REDIS_PACKAGES := redis-server redis-tools

.PHONY: redis
TEST_PREREQS += redis

redis:
	@if [ "$$(dpkg-query -W -f='$${db:Status-Status} $${Version}\n' $(REDIS_PACKAGES) 2>/dev/null | grep -cx 'installed $(REDIS_VERSION)')" = "$(words $(REDIS_PACKAGES))" ]; then \
	  echo "$(REDIS_PACKAGES) $(REDIS_VERSION) are installed"; \
	else \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  if apt-cache madison redis-server | grep -q ' $(REDIS_VERSION) '; then \
	    apt-get install -y -qq --no-install-recommends $(foreach p,$(REDIS_PACKAGES),'$(p)=$(REDIS_VERSION)'); \
	  else \
	    echo "warning: redis $(REDIS_VERSION) is no longer served; installing the current 7.0 packages" >&2; \
	    apt-get install -y -qq --no-install-recommends $(REDIS_PACKAGES); \
	  fi; \
	fi
	@# The Debian package may start a system instance where systemd runs; the tests never use it.
	@redis-server --version
	@redis-cli --version

## Publish a reference data set to the Redis of ConnectionStrings__Redis; every replica swaps to it within seconds.
## REFERENCE is a folder of data/reference's format; empty publishes the set compiled into the server.
REFERENCE ?=
.PHONY: publish-reference
publish-reference: restore
	dotnet run --project $(SERVER) -c $(CONFIG) --no-launch-profile -- publish-reference $(REFERENCE)

## Move cases of the single-node layout of earlier versions (tkr:v1:) into the sharded layout, once, with every server
## stopped; ConnectionStrings__Redis, Redis__Password and Redis__Shards as the servers have them.
.PHONY: migrate-redis-layout
migrate-redis-layout: restore
	dotnet run --project $(SERVER) -c $(CONFIG) --no-launch-profile -- migrate-redis-layout

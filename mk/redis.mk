# Redis for the durable-mode tests: Debian's redis-server, pinned. The tests start their own servers on free
# loopback ports; nothing here starts a service.
REDIS_VERSION := 5:7.0.15-1~deb12u10

.PHONY: redis
TEST_PREREQS += redis

redis:
	@if dpkg-query -W -f='$${Version}' redis-server 2>/dev/null | grep -qx '$(REDIS_VERSION)'; then \
	  echo "redis-server $(REDIS_VERSION) is installed"; \
	else \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq; \
	  if apt-cache madison redis-server | grep -q ' $(REDIS_VERSION) '; then \
	    apt-get install -y -qq --no-install-recommends 'redis-server=$(REDIS_VERSION)' 'redis-tools=$(REDIS_VERSION)'; \
	  else \
	    echo "warning: redis-server $(REDIS_VERSION) is no longer served; installing the current 7.0 package" >&2; \
	    apt-get install -y -qq --no-install-recommends redis-server; \
	  fi; \
	fi
	@# The Debian package may start a system instance where systemd runs; the tests never use it.
	@redis-server --version

## Publish a reference data set to the Redis of ConnectionStrings__Redis; every replica swaps to it within seconds.
## REFERENCE is a folder of data/reference's format; empty publishes the set compiled into the server.
REFERENCE ?=
.PHONY: publish-reference
publish-reference: restore
	dotnet run --project $(SERVER) -c $(CONFIG) --no-launch-profile -- publish-reference $(REFERENCE)

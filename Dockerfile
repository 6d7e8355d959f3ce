# syntax=docker/dockerfile:1
# The Tokutei.Routing server image. Build from the repository root:
#   docker build -t tokutei-routing:0.1.0 .
# (the tag is the chart's appVersion; charts/tokutei-routing/README.md, "Building the image", has the details).

# The SDK image must satisfy global.json (10.0.401 or a later 10.0 feature band: rollForward latestFeature); the
# .NET images ship only the newest feature band, so `sdk:10.0` does. Pin it by digest for repeatable builds:
#   docker build --build-arg SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0@sha256:... .
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
# Chiseled: no shell, no package manager, non-root `app` user (UID 1654) by default.
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled

# The build runs on the builder's own platform: the output is IL, the same for every target platform.
FROM --platform=$BUILDPLATFORM ${SDK_IMAGE} AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# What the build reads: the root build settings, the contract, the reference data compiled into the server, the
# sources (.dockerignore keeps everything else out, tests included).
COPY global.json Directory.Build.props Directory.Packages.props BannedSymbols.txt .editorconfig ./
COPY protos/ protos/
COPY data/reference/ data/reference/
COPY src/ src/
# Locked restore: every package version comes from the packages.lock.json files, as in `make test`.
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet restore src/Tokutei.Routing.Server --locked-mode
# Framework-dependent and RID-less, so the lock files apply as they are; no apphost, the entrypoint is `dotnet`.
RUN --mount=type=cache,id=nuget,target=/root/.nuget/packages \
    dotnet publish src/Tokutei.Routing.Server -c Release -o /app --no-restore -p:UseAppHost=false

FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
# Owned by root and read-only: the app user can run the code, not change it.
COPY --from=build --chown=0:0 --chmod=0555 /app ./
# The chart sets these too; here they make `docker run` work alone. ASPNETCORE_HTTP_PORTS (8080 in the base image)
# is cleared so that ASPNETCORE_URLS alone decides the gRPC listener.
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS= \
    ASPNETCORE_ENVIRONMENT=Production \
    Admin__Port=9090
# 8080: gRPC (HTTP/2 only; h2c, or TLS with Tls__*). 9090: admin (/metrics).
EXPOSE 8080 9090
# Numeric, so the kubelet can check runAsNonRoot against the image; the chart's securityContext uses the same id.
USER $APP_UID
ENTRYPOINT ["dotnet", "Tokutei.Routing.Server.dll"]

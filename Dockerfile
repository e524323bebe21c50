# Multi-stage build: the SDK image compiles, the much smaller runtime image runs as a non-root user.
# The base images by tag; a release pins them by digest, keeping the tag beside it (SECURITY.md):
#   docker build --build-arg SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0@sha256:<digest> \
#                --build-arg RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0@sha256:<digest> .
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${SDK_IMAGE} AS build
# The architecture the image is built for (BuildKit sets it; amd64 without it). The worker is published self-contained
# and compiled ahead of time (ReadyToRun) for it as one composite image with the .NET libraries it runs on, so a
# starting replica spends less time in the JIT before its first request (docs/throughput.md: "Start-up").
ARG TARGETARCH
WORKDIR /source
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig appsettings.json ./
COPY src/Stackit.EmbeddingWorker/Stackit.EmbeddingWorker.csproj src/Stackit.EmbeddingWorker/packages.lock.json src/Stackit.EmbeddingWorker/
# The restore names no architecture: the project names both it is built for, the lock file holds both, and a locked
# restore for one of them is refused (NU1004). It brings the runtime packs of both and the ahead-of-time compiler.
RUN dotnet restore src/Stackit.EmbeddingWorker/Stackit.EmbeddingWorker.csproj --locked-mode \
        -p:SelfContained=true -p:PublishReadyToRun=true
COPY src/ src/
RUN dotnet publish src/Stackit.EmbeddingWorker/Stackit.EmbeddingWorker.csproj -c Release --no-restore -o /app \
        -r "linux-$([ "$TARGETARCH" = arm64 ] && echo arm64 || echo x64)" --self-contained true \
        -p:PublishReadyToRun=true -p:PublishReadyToRunComposite=true

# runtime-deps: the image carries its own .NET (Kestrel, which serves the management port, included).
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
COPY --from=build /app .
# The .NET images ship an unprivileged 'app' user; APP_UID is its numeric id.
USER $APP_UID
ENV DOTNET_gcServer=0 \
    Logging__Console__FormatterName=json \
    Logging__Console__FormatterOptions__IncludeScopes=true \
    Management__Port=8080
EXPOSE 8080
ENTRYPOINT ["/app/Stackit.EmbeddingWorker"]

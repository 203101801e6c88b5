# syntax=docker/dockerfile:1
# volumeguard: one static binary on distroless, as user nonroot, no shell.
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     -t ghcr.io/volumeguard/volumeguard:dev .
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 ...
# (the builder cross-compiles natively instead of emulating the target).
# Releases: GoReleaser builds --target=release from its own binaries.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
# Fail on a go.mod that wants a newer Go rather than download a toolchain.
ENV GOTOOLCHAIN=local
WORKDIR /src
# Modules in a layer of their own: rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
# Static (no cgo, so no libc needed on distroless/static), reproducible
# paths (-trimpath), no symbol tables (-s -w), version as `make build` sets it.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/volumeguard ./cmd/volumeguard

# CA certificates and /etc/passwd with nonroot, nothing else: no shell, no
# package manager. Shared by both targets below.
FROM gcr.io/distroless/static-debian12:nonroot AS runtime
LABEL org.opencontainers.image.source="https://github.com/volumeguard/volumeguard" \
      org.opencontainers.image.description="Finds image VOLUMEs that pods leave uncovered" \
      org.opencontainers.image.licenses="Apache-2.0"
# The manifests run it as 65532 too (runAsUser), with a read-only root filesystem.
USER 65532:65532
ENTRYPOINT ["/volumeguard"]

# --target=release: the binaries GoReleaser built (.goreleaser.yaml,
# dockers_v2), which puts each platform's at $TARGETPLATFORM/volumeguard in
# the build context, so that the image holds the released binary itself.
FROM runtime AS release
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/volumeguard /volumeguard

# The default target: built from source above.
FROM runtime
COPY --from=build /out/volumeguard /volumeguard

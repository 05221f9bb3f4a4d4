# Ecolaura reference server: a static binary on an empty base image.
#
#   docker build -t ecolaura --build-arg VERSION=$(git describe --tags --always) .
#   docker run --rm -p 8080:8080 ecolaura          # in memory, demo catalog
#
# The base images are build arguments: BUILDER_IMAGE must provide the Go
# toolchain and a POSIX shell (the official image does); RUNTIME_IMAGE is
# `scratch`, so the image holds exactly what the final stage copies in. The
# binary embeds the time-zone database (time/tzdata) and a fallback set of
# CA certificates (golang.org/x/crypto/x509roots/fallback), so it needs no
# file from the base image; gcr.io/distroless/static-debian12:nonroot works
# as well. CI builds this file with podman, substituting a builder made from
# the machine's Go toolchain (cmd/ecolaura/image_test.go).
ARG BUILDER_IMAGE=golang:1.26
ARG RUNTIME_IMAGE=scratch

FROM ${BUILDER_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0
# GOPROXY may point elsewhere (for example a file:// module cache); empty
# keeps the builder's default. The cache mounts keep modules and compiled
# packages from one build to the next.
ARG GOPROXY
COPY . .
# VERSION is reported by `ecolaura version` and /healthz; without it the
# module version from the build information is used.
ARG VERSION=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -buildvcs=false -ldflags="-s -w -X main.version=${VERSION}" \
        -o /out/root/usr/local/bin/ecolaura ./cmd/ecolaura \
 && mkdir -p /out/root/tmp /out/root/var/lib/ecolaura /out/data/keys /out/data/media \
 && chmod 1777 /out/root/tmp \
 && chmod 0750 /out/data/keys

FROM ${RUNTIME_IMAGE}
# Everything belongs to root and is read-only to the server, except its two
# data directories, owned by the unprivileged user it runs as (65532,
# distroless' "nonroot"): the signing key (ecolaura keygen) and uploaded
# media, each usually a volume.
COPY --from=build /out/root/ /
COPY --from=build --chown=65532:65532 /out/data/ /var/lib/ecolaura/
USER 65532:65532
WORKDIR /var/lib/ecolaura
# The API on 8080; the operations listener (/metrics, /healthz, /readyz)
# on 9090 of the container's own address, for probes and Prometheus inside
# the cluster: publish 8080 only, never 9090 (nginx does not proxy it).
ENV ECOLAURA_ADDR=:8080
ENV ECOLAURA_OPS_ADDR=:9090
# Uploaded product images (served under /media/; nginx may serve them too).
ENV ECOLAURA_MEDIA_DIR=/var/lib/ecolaura/media
EXPOSE 8080 9090
# `ecolaura healthcheck` asks the server's readiness endpoint; no curl needed.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/ecolaura", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ecolaura"]
CMD ["serve"]

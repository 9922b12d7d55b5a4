# syntax=docker/dockerfile:1
# The `integrations` binary, for every role: `api`, `worker`, `serve` (and the admin commands
# `create-key`, `callback-secret`, `dead-letters`). The build step is the command CI builds the
# release binary with; the runtime image is distroless (glibc, libgcc, CA certificates, no
# shell) running as a non-root user.
#
#   docker build -t integrations:$(git rev-parse --short HEAD) .
#   docker run --rm -p 8080:8080 -v integrations-data:/data integrations:<tag> serve
#
# See docs/deploy.md.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin integrations \
    && install -D -m 0755 target/release/integrations /out/integrations \
    && install -d -m 0700 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/integrations /usr/local/bin/integrations
# The embedded backend's data directory (`serve` on one host); mount a volume here.
COPY --from=build --chown=65532:65532 /out/data /data
ENV INTEGRATIONS_LISTEN=0.0.0.0:8080 \
    INTEGRATIONS_DATA_DIR=/data \
    INTEGRATIONS_LOG_FORMAT=json
USER 65532:65532
WORKDIR /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/integrations"]
CMD ["serve"]

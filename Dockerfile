# The one image of the platform: the `shopctl` binary, which serves every service
# (`shopctl serve <service>`) and runs the migrations (`shopctl migrate <service>`).
#
#   docker build -t shopctl:0.1.0 .
#
# Build stage: a release build of the workspace's `shopctl` package.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p shopctl \
 && install -D -m 0755 target/release/shopctl /out/shopctl

# Final stage: glibc and libgcc only (distroless "cc"), no shell, no package manager; runs as
# the image's unprivileged user (UID 65532), so the pod's runAsNonRoot holds.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/shopctl /usr/local/bin/shopctl
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/shopctl"]
CMD ["--help"]

# ferryd in a container: built on Debian 12 with the project's own dependency script, run on
# bookworm-slim with only the shared libraries it links. See deploy/README.md.
#
#   docker build -t ferryd:0.1.0 .
#   docker run --rm -p 127.0.0.1:50051:50051 -p 127.0.0.1:9092:9092 -p 127.0.0.1:9464:9464 \
#     -v ferry-data:/data ferryd:0.1.0
#
# BUILD_BASE and RUNTIME_BASE name the base images; tests/image_test.sh builds with bases it makes
# here from Debian packages (debootstrap), so no registry is needed.
#
# tests/deploy_checks.sh keeps this file honest: every FERRY_ variable below names a flag in
# `ferryd --help`, the ports agree with the Kubernetes manifests, and the runtime packages cover
# `ldd ferryd`.
ARG BUILD_BASE=debian:bookworm
ARG RUNTIME_BASE=debian:bookworm-slim

FROM ${BUILD_BASE} AS build
WORKDIR /src
# The dependency script alone first, so that editing sources does not re-run apt.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
# FERRY_REVISION: the build context has no .git; pass --build-arg FERRY_REVISION=$(git rev-parse
# --short HEAD) so `ferryd --version` and ferry_build_info name the commit.
ARG FERRY_REVISION=unknown
RUN cmake -G Ninja -S . -B /build -DCMAKE_BUILD_TYPE=Release \
      -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_BENCH=OFF -DFERRY_REVISION="${FERRY_REVISION}" \
 && cmake --build /build --target ferryd -j"$(nproc)"

FROM ${RUNTIME_BASE}
# Exactly the packages that provide the non-libc libraries `ldd ferryd` lists (checked by
# tests/deploy_checks.sh; it names any library this list misses and any package it no longer needs).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libabsl20220623 \
      libbz2-1.0 \
      libc-ares2 \
      libcivetweb1 \
      libgcc-s1 \
      libgflags2.2 \
      libgrpc++1.51 \
      libgrpc29 \
      liblz4-1 \
      libprometheus-cpp-core1.0 \
      libprotobuf32 \
      libre2-9 \
      librocksdb7.8 \
      libsnappy1v5 \
      libssl3 \
      libstdc++6 \
      libzstd1 \
      zlib1g \
 && rm -rf /var/lib/apt/lists/*
# A fixed uid/gid, so Kubernetes can run it with runAsUser/fsGroup 10001 and a read-only root.
RUN groupadd --gid 10001 ferry \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ferry \
 && install -d -o 10001 -g 10001 -m 0750 /data
COPY --from=build /build/ferryd /usr/local/bin/ferryd
USER 10001:10001
VOLUME ["/data"]
# Every listener on all interfaces, data on the volume. Each is an ordinary FERRY_<FLAG> variable
# (ferryd reads one for every flag): `docker run -e` or the Kubernetes manifests may change any
# of them, and an argument after the image name wins over all.
#   gRPC (ferry.v1, grpc.health.v1, reflection)     50051
#   Kafka, listener INTERNAL (clients in the cluster) 9092
#   Kafka, listener EXTERNAL (NodePort/port-forward)  9094
#   Prometheus /metrics, /healthz, /readyz            9464
# Kafka clients are told 127.0.0.1 and the listener's port unless FERRY_KAFKA_ADVERTISE says
# otherwise (the StatefulSet sets each pod's DNS name), which suits `docker run -p` on this host.
ENV FERRY_LISTEN=0.0.0.0:50051 \
    FERRY_KAFKA_LISTEN=INTERNAL://0.0.0.0:9092,EXTERNAL://0.0.0.0:9094 \
    FERRY_METRICS_LISTEN=0.0.0.0:9464 \
    FERRY_DATA_DIR=/data
EXPOSE 50051 9092 9094 9464
# ferryd finishes in-flight writes, syncs and exits 0 on SIGTERM. It runs as PID 1 on purpose: it
# blocks SIGTERM and takes it with sigwait, which works for PID 1 too, and it forks nothing.
STOPSIGNAL SIGTERM
# For `docker run`; Kubernetes uses its own gRPC probes. bash's /dev/tcp needs no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/local/bin/ferryd"]

# ferryd in a container: built on Debian 12 with the project's own dependency script, run on
# bookworm-slim with only the shared libraries it links. See deploy/README.md.
#
#   docker build -t ferryd:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 -v ferry-data:/data ferryd:0.1.0
#
# tests/deploy_checks.sh keeps this file honest: every flag below exists in `ferryd --help`, the
# ports agree with the Kubernetes manifests, and the runtime packages cover `ldd ferryd`.

FROM debian:bookworm AS build
WORKDIR /src
# The dependency script alone first, so that editing sources does not re-run apt.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -G Ninja -S . -B /build -DCMAKE_BUILD_TYPE=Release \
      -DFERRY_BUILD_TESTS=OFF -DFERRY_BUILD_BENCH=OFF \
 && cmake --build /build --target ferryd -j"$(nproc)"

FROM debian:bookworm-slim
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
# gRPC (with grpc.health.v1), then Prometheus /metrics, /healthz and /readyz.
EXPOSE 50051 9464
# ferryd finishes in-flight writes, syncs and exits 0 on SIGTERM. It runs as PID 1 on purpose: it
# blocks SIGTERM and takes it with sigwait, which works for PID 1 too, and it forks nothing.
STOPSIGNAL SIGTERM
# For `docker run`; Kubernetes uses its own gRPC probes. bash's /dev/tcp needs no curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9464 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
# Addresses and the data directory are fixed here, so the ports and the volume always agree with
# the manifests. The tuning flags come from FLAGS_<name> environment variables when set (the
# Kubernetes ConfigMap); an argument after the image name still overrides both.
ENTRYPOINT ["/usr/local/bin/ferryd", \
            "--listen=0.0.0.0:50051", \
            "--metrics-listen=0.0.0.0:9464", \
            "--data-dir=/data", \
            "--tryfromenv=fsync,fsync_interval_ms,auto_create_topics,default_partitions,max_partitions,max_record_bytes,max_batch_bytes,max_subscribe_records,max_subscribe_bytes,retention_check_interval_ms,block_cache_mb,write_buffer_mb,shutdown_timeout_ms,log_level,group_min_session_timeout_ms,group_max_session_timeout_ms,group_default_session_timeout_ms,group_revoke_grace_ms,group_max_members,max_groups"]

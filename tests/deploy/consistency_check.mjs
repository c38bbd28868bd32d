// Checks that the Dockerfile, the manifests under deploy/kubernetes and the ferryd binary agree:
//   image     the Dockerfile's stages, entrypoint, user, volume and stop signal
//   flags     every flag passed (Dockerfile ENTRYPOINT/CMD, container command/args, FLAGS_*
//             variables from the ConfigMap or env) exists in `ferryd --help` and is read
//   ports     EXPOSE, --listen/--metrics-listen, ferryd's defaults, containerPorts, Services,
//             probes, Prometheus annotations and the ServiceMonitor name the same ports
//   policy    security context, resources, grace period, volume, replicas, image name
//   libraries every non-libc shared library `ldd ferryd` lists comes from a package the runtime
//             stage installs (dpkg -S on this Debian 12 machine), and no package is left over
//   run       ferryd started with the image's command line and the ConfigMap's environment
//             (on 127.0.0.1, free ports, a temp dir) serves /readyz and /metrics, passes the
//             image's HEALTHCHECK, and exits 0 on SIGTERM; and each numeric or boolean FLAGS_*
//             variable really reaches ferryd
// Usage: node consistency_check.mjs <repo root> <ferryd>
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  ENV_FLAGS, Report, aptInstalls, envFlagNames, execForm, ferrydFlags, flagValue, lastInstruction,
  loadDeployDir, parseDockerfile, parseFlagArgs, parseHostPort, selects,
} from "./lib.mjs";

const [rootArg, ferrydArg] = process.argv.slice(2);
if (!rootArg || !ferrydArg) {
  console.error("usage: node consistency_check.mjs <repo root> <ferryd>");
  process.exit(2);
}
const root = path.resolve(rootArg);
const ferryd = path.resolve(ferrydArg);
const report = new Report("deploy consistency checks");

// Flags that only make sense per process, never in an image or a manifest.
const LOCAL_ONLY_FLAGS = new Set(["port-file", "metrics-port-file"]);
// Addresses and the data directory are the image's contract with the manifests (ports, volume):
// they must not be movable from the ConfigMap.
const FIXED_FLAGS = new Set(["listen", "metrics-listen", "data-dir"]);
// Packages `ldd ferryd` may show that the runtime stage must not list: the C library.
const BASE_LIBRARY_PACKAGES = new Set(["libc6"]);

const ferrydHelp = ferrydFlags(ferryd);
const dashed = (envName) => envName.replaceAll("_", "-");

// --- inputs ---------------------------------------------------------------------------------
const stages = parseDockerfile(path.join(root, "Dockerfile"));
const buildStage = stages[0];
const runtime = stages[stages.length - 1];
const { kustomizations, objects } = loadDeployDir(path.join(root, "deploy", "kubernetes"));
const ofKind = (kind) => objects.filter((o) => o.obj.kind === kind).map((o) => o.obj);

const statefulSets = ofKind("StatefulSet");
if (stages.length < 2 || statefulSets.length !== 1) {
  report.fail("inputs", [
    stages.length < 2 ? "the Dockerfile needs a build stage and a runtime stage" : null,
    statefulSets.length !== 1
      ? `deploy/kubernetes needs exactly one StatefulSet (found ${statefulSets.length})` : null,
  ]);
  process.exit(report.finish());
}
const sts = statefulSets[0];
const pod = sts.spec?.template ?? {};
const podLabels = pod.metadata?.labels ?? {};
const podSpec = pod.spec ?? {};

// The container that runs ferryd: its image is one the kustomizations set (or named ferryd).
const imageRepo = (image) => String(image ?? "").replace(/@.*$/, "").replace(/:[^/:]*$/, "");
const imageNames = new Set(kustomizations.flatMap((k) => (k.obj.images ?? []).map((i) => i.name)));
if (imageNames.size === 0) imageNames.add("ferryd");
const candidates = (podSpec.containers ?? []).filter((c) => imageNames.has(imageRepo(c.image)));
if (candidates.length !== 1) {
  report.fail("the StatefulSet has one ferryd container",
      `${candidates.length} containers use an image named ${[...imageNames].join(" or ")}`);
  process.exit(report.finish());
}
const container = candidates[0];

// The command line the container runs: Kubernetes' command replaces ENTRYPOINT (and drops CMD),
// args replaces CMD.
const entrypoint = execForm(lastInstruction(runtime, "ENTRYPOINT"));
const cmd = execForm(lastInstruction(runtime, "CMD")) ?? [];
const argv = container.command
  ? [...container.command, ...(container.args ?? [])]
  : [...(entrypoint ?? []), ...(container.args ?? cmd)];
const { flags: argFlags, others: positional } = parseFlagArgs(argv.slice(1));
const envNames = envFlagNames(argFlags);
const effective = (name) => flagValue(argFlags, name) ?? ferrydHelp.get(name);

// FLAGS_* variables the container gets: [{name, value, source}] (value null when not literal).
const configMaps = new Map(ofKind("ConfigMap").map((c) => [c.metadata?.name, c]));
const envVars = [];
const missingConfigMaps = [];
for (const from of container.envFrom ?? []) {
  if (from.configMapRef) {
    const cm = configMaps.get(from.configMapRef.name);
    if (!cm) {
      missingConfigMaps.push(from.configMapRef.name);
      continue;
    }
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      envVars.push({ name: `${from.prefix ?? ""}${k}`, value: String(v),
        source: `ConfigMap ${cm.metadata.name}` });
    }
  } else {
    envVars.push({ name: null, value: null, source: "envFrom other than a ConfigMap" });
  }
}
for (const e of container.env ?? []) {
  envVars.push({ name: e.name, value: e.value ?? null, source: "container env" });
}
// A FLAGS_ variable is read when ferryd's --tryfromenv/--fromenv list names it.
const envFlag = (name) => /^FLAGS_(.+)$/.exec(name ?? "")?.[1];
const envValue = (flagName) => {
  const hit = envVars.filter((e) => envFlag(e.name) === flagName.replaceAll("-", "_"));
  return hit.length > 0 ? hit[hit.length - 1].value : undefined;
};
// The value ferryd ends up with, given how the image passes it (argument, then environment).
const configured = (name) => envValue(name) ?? effective(name);

// --- image ----------------------------------------------------------------------------------
{
  const problems = [];
  if (buildStage.from !== "debian:bookworm") {
    problems.push(`build stage is FROM ${buildStage.from}, want debian:bookworm`);
  }
  if (runtime.from !== "debian:bookworm-slim") {
    problems.push(`runtime stage is FROM ${runtime.from}, want debian:bookworm-slim`);
  }
  const buildRuns = buildStage.instructions.filter((i) => i.keyword === "RUN")
      .map((i) => i.args).join(" && ");
  if (!/(^|[\s/])scripts\/install-deps\.sh\b/.test(buildRuns)) {
    problems.push("build stage does not run scripts/install-deps.sh");
  }
  for (const want of ["-DCMAKE_BUILD_TYPE=Release", "-DFERRY_BUILD_TESTS=OFF",
    "-DFERRY_BUILD_BENCH=OFF", "--target ferryd"]) {
    if (!buildRuns.includes(want)) problems.push(`build stage's cmake lacks ${want}`);
  }
  report.expect("image: build stage installs with scripts/install-deps.sh and builds ferryd",
      problems);
}
{
  const problems = [];
  if (entrypoint === null) {
    problems.push("ENTRYPOINT must be in exec form [\"/path/ferryd\", ...]: a shell as PID 1 " +
        "does not pass SIGTERM on");
  }
  const copies = runtime.instructions.filter((i) => i.keyword === "COPY" && /--from=/.test(i.args))
      .map((i) => i.args.trim().split(/\s+/).pop());
  if (entrypoint && !copies.includes(entrypoint[0])) {
    problems.push(`ENTRYPOINT runs ${entrypoint[0]}, but no COPY --from puts ferryd there`);
  }
  const stop = lastInstruction(runtime, "STOPSIGNAL")?.args;
  if (stop !== "SIGTERM" && stop !== "15") {
    problems.push(`STOPSIGNAL is ${stop ?? "unset"}, want SIGTERM (ferryd's graceful stop)`);
  }
  report.expect("image: entrypoint runs ferryd directly and stops it with SIGTERM", problems);
}
const userSpec = lastInstruction(runtime, "USER")?.args ?? "";
const [imageUid, imageGid] = userSpec.split(":").map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
report.expect("image: runs as a numeric non-root USER", imageUid > 0 ? []
  : [`USER is "${userSpec}"; want uid:gid numbers (10001:10001) so runAsNonRoot can verify it`]);
const dataDir = effective("data-dir");
{
  const volumes = runtime.instructions.filter((i) => i.keyword === "VOLUME").flatMap((i) => {
    const v = execForm(i) ?? i.args.split(/\s+/);
    return v;
  });
  report.expect(`image: VOLUME ${dataDir} is --data-dir`, volumes.includes(dataDir) ? []
    : [`--data-dir is ${dataDir} but VOLUME declares ${volumes.join(", ") || "nothing"}`]);
}

// --- flags ----------------------------------------------------------------------------------
const unknownFlags = (list) => list.filter((f) => !ferrydHelp.has(f.name) && !ENV_FLAGS.has(f.name))
    .map((f) => `${f.arg}: ferryd has no --${f.name}`);
report.expect("flags: the container's command line (Dockerfile ENTRYPOINT/CMD, container " +
    "command/args) uses only ferryd's flags",
    [...unknownFlags(argFlags),
      ...positional.map((a) => `"${a}": ferryd takes --name=value flags only`),
      ...argFlags.filter((f) => LOCAL_ONLY_FLAGS.has(f.name)).map((f) =>
        `${f.arg}: a local-run flag, meaningless in a container`)]);
report.expect("flags: --tryfromenv/--fromenv name ferryd flags, spelled with underscores",
    envNames.flatMap((n) => [
      /^[a-z0-9_]+$/.test(n) ? null
        : `"${n}": write ${n.replaceAll("-", "_")}; Abseil does not turn dashes into underscores`,
      ferrydHelp.has(dashed(n)) ? null : `"${n}": ferryd has no --${dashed(n)}`,
      FIXED_FLAGS.has(dashed(n)) ? `"${n}": fixed by the image (ports, volume); not from env`
        : null,
    ]).filter(Boolean));
{
  const problems = missingConfigMaps.map((n) => `envFrom names ConfigMap ${n}, which is not in ` +
      "deploy/kubernetes");
  const tryAt = argFlags.findLastIndex((f) => ENV_FLAGS.has(f.name));
  for (const e of envVars) {
    if (e.name === null) {
      problems.push(`${e.source}: not checkable; use a ConfigMap`);
      continue;
    }
    const flag = envFlag(e.name);
    if (flag === undefined) {
      if (e.source.startsWith("ConfigMap")) {
        problems.push(`${e.source}: ${e.name} is not FLAGS_<flag>; ferryd reads nothing else`);
      }
      continue;
    }
    if (!ferrydHelp.has(dashed(flag))) {
      problems.push(`${e.source}: ${e.name}: ferryd has no --${dashed(flag)}`);
    } else if (!envNames.includes(flag)) {
      problems.push(`${e.source}: ${e.name} is ignored: "${flag}" is not in the image's ` +
          "--tryfromenv list (Dockerfile ENTRYPOINT)");
    }
    const later = argFlags.slice(tryAt + 1).find((f) => f.name === dashed(flag));
    if (later) problems.push(`${e.source}: ${e.name} is overridden by the argument ${later.arg}`);
  }
  const used = new Set((container.envFrom ?? []).map((f) => f.configMapRef?.name));
  for (const name of configMaps.keys()) {
    if (!used.has(name)) problems.push(`ConfigMap ${name} is not used by the ferryd container`);
  }
  report.expect("flags: every FLAGS_* variable (ConfigMap, env) is a ferryd flag that the " +
      "image's --tryfromenv reads", problems);
}
{
  const reachable = new Set([...argFlags.map((f) => f.name), ...envNames.map(dashed)]);
  const rest = [...ferrydHelp.keys()].filter((f) => !reachable.has(f) && !LOCAL_ONLY_FLAGS.has(f));
  if (rest.length > 0) {
    report.note(`ferryd flags the ConfigMap cannot set (not in the image's --tryfromenv): ` +
        `${rest.map((f) => `--${f}`).join(" ")}`);
  }
}

// --- ports ----------------------------------------------------------------------------------
const defaultGrpc = parseHostPort(ferrydHelp.get("listen"));
const defaultMetrics = parseHostPort(ferrydHelp.get("metrics-listen"));
const grpcAddr = parseHostPort(effective("listen"));
const metricsAddr = parseHostPort(effective("metrics-listen"));
{
  const problems = [];
  for (const [flag, addr, def] of [["listen", grpcAddr, defaultGrpc],
    ["metrics-listen", metricsAddr, defaultMetrics]]) {
    if (addr === null) {
      problems.push(`--${flag}=${effective(flag)} is not host:port`);
      continue;
    }
    if (!["0.0.0.0", "[::]"].includes(addr.host)) {
      problems.push(`--${flag} listens on ${addr.host}; probes and Services need 0.0.0.0`);
    }
    if (def === null || addr.port !== def.port) {
      problems.push(`--${flag} port ${addr.port} differs from ferryd's default ` +
          `${ferrydHelp.get(flag)}`);
    }
  }
  report.expect("ports: the image listens on ferryd's default ports on all interfaces",
      problems);
}
if (grpcAddr === null || metricsAddr === null) process.exit(report.finish());
const grpcPort = grpcAddr.port;
const metricsPort = metricsAddr.port;
const wanted = [grpcPort, metricsPort].sort((a, b) => a - b).join(" ");
{
  const exposed = runtime.instructions.filter((i) => i.keyword === "EXPOSE")
      .flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/i, "")));
  const got = [...exposed].sort((a, b) => a - b).join(" ");
  report.expect("ports: Dockerfile EXPOSE = --listen and --metrics-listen ports", got === wanted
    ? [] : [`EXPOSE ${got}, want ${wanted}`]);
}
const healthcheck = lastInstruction(runtime, "HEALTHCHECK");
if (healthcheck) {
  const m = /\/dev\/tcp\/127\.0\.0\.1\/(\d+)/.exec(healthcheck.args);
  report.expect("ports: HEALTHCHECK asks the metrics port", m && Number(m[1]) === metricsPort
    ? [] : [`HEALTHCHECK does not connect to 127.0.0.1:${metricsPort}`]);
}
const containerPorts = container.ports ?? [];
const portByName = new Map(containerPorts.filter((p) => p.name).map((p) => [p.name, p]));
{
  const got = containerPorts.map((p) => p.containerPort).sort((a, b) => a - b).join(" ");
  report.expect("ports: containerPorts = --listen and --metrics-listen ports", got === wanted ? []
    : [`containerPorts ${got}, want ${wanted}`]);
}
// A port reference (Service targetPort, probe port) as the container port number it reaches.
const resolvePort = (ref) => (typeof ref === "string" ? portByName.get(ref)?.containerPort : ref);
{
  const problems = [];
  const probeProblems = (kind, probe) => {
    if (!probe) return [];
    if (probe.grpc) {
      return [
        probe.grpc.port === grpcPort ? null
          : `${kind}: grpc.port ${probe.grpc.port}, want ${grpcPort} (--listen)`,
        probe.grpc.service ? `${kind}: grpc.service "${probe.grpc.service}": ferryd reports ` +
          "health for the empty service name only" : null,
      ];
    }
    if (probe.httpGet) {
      return [
        resolvePort(probe.httpGet.port) === metricsPort ? null
          : `${kind}: httpGet port ${probe.httpGet.port} is not the metrics port ${metricsPort}`,
        ["/healthz", "/readyz"].includes(probe.httpGet.path) ? null
          : `${kind}: httpGet path ${probe.httpGet.path}; ferryd serves /healthz and /readyz`,
      ];
    }
    if (probe.tcpSocket) {
      return [containerPorts.some((p) => p.containerPort === resolvePort(probe.tcpSocket.port))
        ? null : `${kind}: tcpSocket port ${probe.tcpSocket.port} is no container port`];
    }
    return [`${kind}: exec probes need tools the image does not have`];
  };
  for (const kind of ["livenessProbe", "readinessProbe"]) {
    if (!container[kind]?.grpc) problems.push(`${kind} must be a gRPC health probe`);
  }
  for (const kind of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    problems.push(...probeProblems(kind, container[kind]).filter(Boolean));
  }
  report.expect("ports: probes ask grpc.health.v1 on the gRPC port", problems);
}
const services = ofKind("Service");
{
  const problems = [];
  for (const svc of services) {
    const name = `Service ${svc.metadata?.name}`;
    if (!selects(svc.spec?.selector, podLabels)) {
      problems.push(`${name}: selector does not match the StatefulSet's pod labels`);
    }
    for (const p of svc.spec?.ports ?? []) {
      const target = resolvePort(p.targetPort ?? p.port);
      const cp = containerPorts.find((c) => c.containerPort === target);
      if (!cp) {
        problems.push(`${name} port ${p.name}: targetPort ${p.targetPort} reaches no ` +
            "container port");
      } else {
        if (p.port !== cp.containerPort) {
          problems.push(`${name} port ${p.name}: port ${p.port}, want ${cp.containerPort} ` +
              "(same number outside and in)");
        }
        if (p.name !== cp.name) {
          problems.push(`${name} port ${p.name}: name differs from container port ${cp.name}`);
        }
      }
    }
  }
  const headless = services.find((s) => s.metadata?.name === sts.spec?.serviceName);
  if (!headless) {
    problems.push(`StatefulSet serviceName ${sts.spec?.serviceName} names no Service`);
  } else if (headless.spec?.clusterIP !== "None") {
    problems.push(`Service ${headless.metadata.name} (the StatefulSet's) must be headless`);
  } else if (headless.spec?.publishNotReadyAddresses !== true) {
    problems.push(`Service ${headless.metadata.name}: publishNotReadyAddresses: true keeps the ` +
        "pod's DNS name while it recovers");
  }
  const client = services.filter((s) => s.spec?.clusterIP !== "None" &&
      (s.spec?.ports ?? []).some((p) => resolvePort(p.targetPort ?? p.port) === grpcPort));
  if (client.length === 0) problems.push("no ClusterIP Service exposes the gRPC port to clients");
  report.expect("ports: Services select the pod and map each port to the same container port",
      problems);
}
const annotations = pod.metadata?.annotations ?? {};
const metricsPath = annotations["prometheus.io/path"] ?? "/metrics";
report.expect("ports: Prometheus annotations name the metrics port and path", [
  annotations["prometheus.io/scrape"] === "true" ? null : "prometheus.io/scrape is not \"true\"",
  annotations["prometheus.io/port"] === String(metricsPort) ? null
    : `prometheus.io/port is ${annotations["prometheus.io/port"]}, want "${metricsPort}"`,
  metricsPath === "/metrics" ? null
    : `prometheus.io/path is ${metricsPath}; ferryd serves /metrics`,
].filter(Boolean));
for (const sm of ofKind("ServiceMonitor")) {
  const problems = [];
  const sel = sm.spec?.selector ?? {};
  if (sel.matchExpressions) problems.push("selector.matchExpressions: use matchLabels");
  if (sm.spec?.namespaceSelector) problems.push("namespaceSelector: keep it in its namespace");
  for (const ep of sm.spec?.endpoints ?? []) {
    const hits = services.filter((s) => selects(sel.matchLabels, s.metadata?.labels))
        .flatMap((s) => (s.spec?.ports ?? []).filter((p) => p.name === ep.port)
            .map((p) => ({ s, p })));
    if (hits.length !== 1) {
      problems.push(`endpoint port ${ep.port}: ${hits.length} selected Services have such a ` +
          "port; want exactly one (else each broker is scraped twice, or never)");
    } else if (resolvePort(hits[0].p.targetPort ?? hits[0].p.port) !== metricsPort) {
      problems.push(`endpoint port ${ep.port} reaches not the metrics port ${metricsPort}`);
    }
    if ((ep.path ?? "/metrics") !== metricsPath) {
      problems.push(`endpoint path ${ep.path}, want ${metricsPath}`);
    }
  }
  report.expect(`ports: ServiceMonitor ${sm.metadata?.name} scrapes the metrics port once`,
      problems);
}
for (const pdb of ofKind("PodDisruptionBudget")) {
  report.expect(`ports: PodDisruptionBudget ${pdb.metadata?.name} selects the pod`,
      selects(pdb.spec?.selector?.matchLabels, podLabels) ? []
        : ["selector.matchLabels does not match the StatefulSet's pod labels"]);
}

// --- policy ---------------------------------------------------------------------------------
{
  const podSc = podSpec.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const pick = (key) => sc[key] ?? podSc[key];
  report.expect("policy: restrictive security context matching the image's user", [
    pick("runAsNonRoot") === true ? null : "runAsNonRoot is not true",
    pick("runAsUser") === imageUid ? null
      : `runAsUser ${pick("runAsUser")}, want the image's USER ${imageUid}`,
    pick("runAsGroup") === undefined || pick("runAsGroup") === imageGid ? null
      : `runAsGroup ${pick("runAsGroup")}, want the image's group ${imageGid}`,
    podSc.fsGroup === imageGid ? null
      : `pod fsGroup ${podSc.fsGroup}, want ${imageGid} so the volume is writable`,
    sc.readOnlyRootFilesystem === true ? null : "readOnlyRootFilesystem is not true",
    sc.allowPrivilegeEscalation === false ? null : "allowPrivilegeEscalation is not false",
    (sc.capabilities?.drop ?? []).includes("ALL") ? null : "capabilities.drop lacks ALL",
    (sc.capabilities?.add ?? []).length === 0 ? null : "capabilities.add is not empty",
    pick("seccompProfile")?.type === "RuntimeDefault" ? null
      : "seccompProfile.type is not RuntimeDefault",
    sc.privileged ? "privileged" : null,
  ].filter(Boolean));
}
// Kubernetes quantities ("512Mi", "1G", "2", "500m") in bytes or cores.
const quantity = (q) => {
  const m = /^([0-9.]+)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(q ?? ""));
  if (!m) return NaN;
  const mult = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30,
    Ti: 2 ** 40 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
};
{
  const r = container.resources ?? {};
  const problems = [];
  for (const kind of ["requests", "limits"]) {
    for (const res of ["cpu", "memory"]) {
      if (!(quantity(r[kind]?.[res]) > 0)) problems.push(`resources.${kind}.${res} is not set`);
    }
  }
  // RocksDB's block cache and memtables are the bulk of ferryd's memory: keep them to half the
  // limit, leaving the rest for gRPC buffers, consumer groups and the allocator.
  const rocksMb = Number(configured("block-cache-mb")) + Number(configured("write-buffer-mb"));
  const limit = quantity(r.limits?.memory);
  if (!(rocksMb * 2 ** 20 <= limit / 2)) {
    problems.push(`--block-cache-mb + --write-buffer-mb = ${rocksMb} MiB, more than half the ` +
        `memory limit ${r.limits?.memory}`);
  }
  report.expect("policy: resource requests and limits, RocksDB memory within the limit",
      problems);
}
{
  const grace = podSpec.terminationGracePeriodSeconds ?? 30;
  const shutdownS = Number(configured("shutdown-timeout-ms")) / 1000;
  const need = Math.max(15, Math.ceil(shutdownS) + 10);
  report.expect("policy: terminationGracePeriodSeconds covers ferryd's shutdown", grace >= need
    ? [] : [`${grace} s; want >= ${need} (--shutdown-timeout-ms ${shutdownS * 1000} plus ` +
      "10 s for closing storage, and at least 15)"]);
}
{
  const claims = new Set((sts.spec?.volumeClaimTemplates ?? []).map((v) => v.metadata?.name));
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === dataDir);
  report.expect(`policy: --data-dir ${dataDir} is a volumeClaimTemplate's volume`,
      mount && claims.has(mount.name) && !mount.readOnly ? []
        : [`mount a volumeClaimTemplate at ${dataDir}, writable`]);
}
report.expect("policy: one broker (Ferry does not replicate)", (sts.spec?.replicas ?? 1) === 1
  ? [] : [`replicas ${sts.spec.replicas}: each replica would be an independent broker behind ` +
    "one Service"]);
report.expect("policy: no hard-coded namespaces (apply with -n or a kustomization namespace)",
    objects.filter((o) => o.obj.metadata?.namespace).map((o) =>
      `${o.obj.kind}/${o.obj.metadata.name} sets metadata.namespace`));

// --- libraries ------------------------------------------------------------------------------
// The Debian package that owns each path: `dpkg -S` in one call, then the merged-/usr twin
// (/lib/x <-> /usr/lib/x) and the resolved symlink for paths dpkg knows under another name.
function owners(paths) {
  const found = new Map();
  const query = (list) => {
    if (list.length === 0) return;
    const r = spawnSync("dpkg", ["-S", ...list], { encoding: "utf8" });
    for (const line of r.stdout.split("\n")) {
      const m = /^(.+?): (\/.*)$/.exec(line);
      if (m && list.includes(m[2])) {
        found.set(m[2], m[1].split(",").map((p) => p.trim().replace(/:[a-z0-9_-]+$/, "")));
      }
    }
  };
  query(paths);
  const twin = (p) => (p.startsWith("/usr/") ? p.slice(4) : `/usr${p}`);
  const alternatives = new Map();
  for (const p of paths.filter((x) => !found.has(x))) {
    const real = fs.realpathSync(p);
    alternatives.set(p, [twin(p), real, twin(real)]);
  }
  query([...new Set([...alternatives.values()].flat())]);
  const out = new Map();
  for (const p of paths) {
    const hit = [p, ...(alternatives.get(p) ?? [])].find((x) => found.has(x));
    out.set(p, hit ? found.get(hit) : null);
  }
  return out;
}
{
  const ldd = spawnSync("ldd", [ferryd], { encoding: "utf8" });
  const problems = [];
  const libs = []; // {soname, path}
  for (const line of ldd.stdout.split("\n")) {
    let m;
    if ((m = /^\s*(\S+) => not found/.exec(line))) problems.push(`${m[1]}: not found by ldd`);
    else if ((m = /^\s*(\S+) => (\/\S+) \(/.exec(line))) libs.push({ soname: m[1], path: m[2] });
    else if ((m = /^\s*(\/\S+) \(/.exec(line))) libs.push({ soname: m[1], path: m[1] });
  }
  if (ldd.status !== 0 || libs.length === 0) {
    problems.push(`ldd ${ferryd} failed: ${ldd.stderr || ldd.stdout}`.trim());
  }
  const installed = new Set(aptInstalls(runtime));
  const owner = owners(libs.map((l) => l.path));
  const needed = new Set();
  for (const lib of libs) {
    const pkgs = owner.get(lib.path);
    if (pkgs === null) {
      problems.push(`${lib.soname} (${lib.path}): no Debian package owns it; the image cannot ` +
          "install it");
      continue;
    }
    if (pkgs.some((p) => BASE_LIBRARY_PACKAGES.has(p))) continue;
    pkgs.forEach((p) => needed.add(p));
    if (!pkgs.some((p) => installed.has(p))) {
      problems.push(`${lib.soname}: add ${pkgs.join(" or ")} to the runtime stage's ` +
          "apt-get install");
    }
  }
  for (const p of installed) {
    if (!needed.has(p)) {
      problems.push(`${p}: installed by the runtime stage but provides no library ldd lists; ` +
          "remove it");
    }
  }
  report.expect(`libraries: the runtime stage installs exactly the packages of ldd ferryd's ` +
      `${libs.length} libraries (${needed.size} packages besides libc6)`, problems);
}

// --- run ------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = (port, urlPath) => new Promise((resolve) => {
  const req = http.get({ host: "127.0.0.1", port, path: urlPath, timeout: 2000 }, (res) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (c) => { body += c; });
    res.on("end", () => resolve({ status: res.statusCode, body }));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => resolve({ status: 0, body: e.message }));
});
// The environment Kubernetes gives the container: literal env and ConfigMap values, nothing else.
const podEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
for (const e of envVars) if (e.name && e.value !== null) podEnv[e.name] = e.value;
const local = (dir) => [`--listen=127.0.0.1:0`, `--metrics-listen=127.0.0.1:0`,
  `--kafka-listen=127.0.0.1:0`,
  `--data-dir=${path.join(dir, "data")}`, `--port-file=${path.join(dir, "grpc.port")}`,
  `--metrics-port-file=${path.join(dir, "metrics.port")}`];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ferry-deploy-check-"));
try {
  // Every numeric or boolean flag the ConfigMap sets, given a bad value, must make ferryd refuse
  // to start: proof that the variable reaches it.
  const numeric = envVars.filter((e) => e.value !== null && envFlag(e.name) &&
      /^(-?\d+|true|false)$/.test(ferrydHelp.get(dashed(envFlag(e.name))) ?? ""));
  const ignored = [];
  for (const e of numeric) {
    const dir = fs.mkdtempSync(path.join(tmp, "probe-"));
    const r = spawnSync(ferryd, [...argv.slice(1), ...local(dir)], {
      env: { ...podEnv, [e.name]: "not-a-value" }, encoding: "utf8", timeout: 20000 });
    if (r.status === 0 || r.signal) ignored.push(`${e.name}=not-a-value did not stop ferryd`);
  }
  report.expect(`run: ferryd reads each of the ${numeric.length} numeric/boolean FLAGS_* ` +
      "variables", ignored);

  const dir = fs.mkdtempSync(path.join(tmp, "run-"));
  const args = [...argv.slice(1), ...local(dir)];
  const child = spawn(ferryd, args, { env: podEnv, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c) => { stderr += c; });
  let exit = null;
  const exited = new Promise((r) => child.on("exit", (code, signal) => {
    exit = { code, signal };
    r();
  }));
  const problems = [];
  const deadline = Date.now() + 60000;
  let mport = null;
  let ready = false;
  while (Date.now() < deadline && exit === null && !ready) {
    if (mport === null && fs.existsSync(path.join(dir, "metrics.port"))) {
      mport = Number(fs.readFileSync(path.join(dir, "metrics.port"), "utf8").trim()) || null;
    }
    if (mport !== null) ready = (await get(mport, "/readyz")).status === 200;
    if (!ready) await sleep(100);
  }
  if (!ready) {
    problems.push(exit ? `ferryd exited (${exit.code ?? exit.signal}) before serving`
      : "ferryd did not report ready on /readyz within 60 s");
  } else {
    const metrics = await get(mport, metricsPath);
    if (metrics.status !== 200 || !metrics.body.includes("# TYPE")) {
      problems.push(`GET ${metricsPath} answered ${metrics.status}, not Prometheus text`);
    }
    if (healthcheck) {
      const hc = /\bCMD\s+(.*)$/s.exec(healthcheck.args)?.[1] ?? "";
      const hcArgv = hc.startsWith("[") ? JSON.parse(hc) : ["/bin/sh", "-c", hc];
      const patched = hcArgv.map((a) => a.replaceAll(`127.0.0.1/${metricsPort}`,
          `127.0.0.1/${mport}`));
      const r = spawnSync(patched[0], patched.slice(1), { encoding: "utf8", timeout: 10000 });
      if (r.status !== 0) problems.push(`HEALTHCHECK command failed (${r.status}): ${r.stderr}`);
    }
  }
  if (exit === null) {
    child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), sleep(15000).then(() => false)]);
    if (!stopped) {
      child.kill("SIGKILL");
      await exited;
      problems.push("ferryd did not exit within 15 s of SIGTERM");
    } else if (exit.code !== 0) {
      problems.push(`ferryd exited ${exit.code ?? exit.signal} after SIGTERM, want 0`);
    }
  }
  if (problems.length > 0) {
    problems.push(`command: ferryd ${args.join(" ")}`);
    problems.push(...stderr.trim().split("\n").slice(-8).map((l) => `stderr: ${l}`));
  }
  report.expect("run: the image's command line with the ConfigMap's environment serves " +
      `/readyz and ${metricsPath}${healthcheck ? ", passes HEALTHCHECK" : ""} and exits 0 on ` +
      "SIGTERM", problems);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

process.exit(report.finish());

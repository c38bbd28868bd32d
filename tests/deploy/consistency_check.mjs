// Checks that the Dockerfile, the manifests under deploy/kubernetes and the ferryd binary agree:
//   image     the Dockerfile's stages, entrypoint, user, volume and stop signal
//   flags     every FERRY_<FLAG> variable (Dockerfile ENV, ConfigMaps, container env) and every
//             argument names a ferryd flag; helper variables are used by a $(reference)
//   ports     EXPOSE, the listeners (gRPC, each Kafka listener, metrics), ferryd's defaults,
//             containerPorts, Services, probes, Prometheus annotations and the ServiceMonitor
//             name the same ports
//   advertise for each kustomization (the base and every overlay): each Kafka listener
//             advertises an address its clients reach: the pod's DNS name under the headless
//             Service, a NodePort or LoadBalancer Service's port, or 127.0.0.1 through a
//             port-forward
//   policy    security context, resources, grace period, volume, replicas, image name
//   libraries every non-libc shared library `ldd ferryd` lists comes from a package the runtime
//             stage installs (dpkg -S on this Debian 12 machine), and no package is left over
//   run       ferryd started with the image's environment and the pod's (on 127.0.0.1, free
//             ports, a temp dir) serves /readyz and /metrics, passes the image's HEALTHCHECK,
//             tells Kafka clients on each listener the address the manifests advertise, and
//             exits 0 on SIGTERM; and each numeric or boolean FERRY_* variable really reaches
//             ferryd
// Usage: node consistency_check.mjs <repo root> <ferryd>
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  Report, aptInstalls, execForm, ferrydFlags, flagValue, lastInstruction, loadDeployDir,
  parseDockerfile, parseFlagArgs, parseHostPort, selects,
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
const LOCAL_ONLY_FLAGS = new Set(["port-file", "metrics-port-file", "kafka-port-file"]);
// Packages `ldd ferryd` may show that the runtime stage must not list: the C library.
const BASE_LIBRARY_PACKAGES = new Set(["libc6"]);
// What the checks substitute for the downward API: the namespace is whatever `-n` says.
const CHECK_NAMESPACE = "ns-of-the-check";
const CHECK_NODE_IP = "192.0.2.10";

const ferrydHelp = ferrydFlags(ferryd);
// "kafka-listen" -> "FERRY_KAFKA_LISTEN", as ferryd's server/config/env_flags.cc names them.
const envNameOf = (flag) => `FERRY_${flag.toUpperCase().replaceAll("-", "_")}`;
const flagOfEnv = new Map([...ferrydHelp.keys()].map((f) => [envNameOf(f), f]));

// --- inputs ---------------------------------------------------------------------------------
const stages = parseDockerfile(path.join(root, "Dockerfile"));
const buildStage = stages[0];
const runtime = stages[stages.length - 1];
const deployDir = path.join(root, "deploy", "kubernetes");
const { kustomizations, objects } = loadDeployDir(deployDir);

// Each kustomization's objects as kubectl apply -k would make them: its resources (files, and
// directories through their kustomization), then its configMapGenerator (only behavior
// replace/merge/create with disableNameSuffixHash, which the schema check allows).
function resolveKustomization(k, stack = []) {
  const dir = path.dirname(k.file);
  const problems = [];
  if (stack.includes(k.file)) return { objs: [], problems: [`${k.file}: resources loop`] };
  let objs = [];
  for (const r of k.obj.resources ?? []) {
    const p = path.resolve(dir, r);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) {
      const sub = kustomizations.find((x) => path.dirname(x.file) === p);
      if (!sub) {
        problems.push(`${path.relative(root, k.file)}: resource ${r} has no kustomization`);
        continue;
      }
      const got = resolveKustomization(sub, [...stack, k.file]);
      objs.push(...got.objs);
      problems.push(...got.problems);
    } else {
      objs.push(...objects.filter((o) => o.file === p).map((o) => ({ ...o, obj: structuredClone(o.obj) })));
    }
  }
  for (const g of k.obj.configMapGenerator ?? []) {
    const data = Object.fromEntries((g.literals ?? []).map((l) => {
      const eq = l.indexOf("=");
      return [l.slice(0, eq), l.slice(eq + 1)];
    }));
    const made = { apiVersion: "v1", kind: "ConfigMap",
      metadata: { name: g.name, labels: g.options?.labels ?? {} }, data };
    const at = objs.findIndex((o) => o.obj.kind === "ConfigMap" && o.obj.metadata?.name === g.name);
    const behavior = g.behavior ?? "create";
    if (behavior === "create") {
      if (at >= 0) problems.push(`configMapGenerator ${g.name}: exists already; use behavior replace`);
      objs.push({ file: k.file, index: 0, obj: made });
    } else if (at < 0) {
      problems.push(`configMapGenerator ${g.name}: behavior ${behavior}, but no such ConfigMap`);
    } else if (behavior === "replace") {
      objs[at] = { file: k.file, index: 0, obj: made };
    } else {
      objs[at].obj.data = { ...(objs[at].obj.data ?? {}), ...data };
    }
  }
  objs = objs.filter((o) => o.obj);
  return { objs, problems };
}
const baseKustomization = kustomizations.find((k) => path.dirname(k.file) === deployDir);
if (!baseKustomization) {
  report.fail("inputs", "deploy/kubernetes has no kustomization.yaml");
  process.exit(report.finish());
}
const variants = kustomizations.map((k) => ({ name: path.relative(root, path.dirname(k.file)),
  ...resolveKustomization(k) }));
report.expect("inputs: every kustomization resolves", variants.flatMap((v) => v.problems));
const base = variants.find((v) => v.name === path.relative(root, deployDir));
const ofKindIn = (objs, kind) => objs.filter((o) => o.obj.kind === kind).map((o) => o.obj);
// Objects of a kind across every kustomization (a ServiceMonitor lives in an overlay).
const ofKind = (kind) => ofKindIn(objects, kind);

const statefulSets = ofKindIn(base.objs, "StatefulSet");
if (stages.length < 2 || statefulSets.length !== 1 ||
    ofKind("StatefulSet").length !== 1) {
  report.fail("inputs", [
    stages.length < 2 ? "the Dockerfile needs a build stage and a runtime stage" : null,
    statefulSets.length !== 1 || ofKind("StatefulSet").length !== 1
      ? `deploy/kubernetes needs exactly one StatefulSet (found ${ofKind("StatefulSet").length})`
      : null,
  ].filter(Boolean));
  process.exit(report.finish());
}
const sts = statefulSets[0];
const pod = sts.spec?.template ?? {};
const podLabels = pod.metadata?.labels ?? {};
const podSpec = pod.spec ?? {};
const podName = `${sts.metadata?.name}-0`;

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

// The image's ENV, in the KEY=value form: Map name -> value.
const imageEnv = new Map();
const imageEnvProblems = [];
for (const ins of runtime.instructions.filter((i) => i.keyword === "ENV")) {
  for (const word of ins.args.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf("=");
    if (eq <= 0) imageEnvProblems.push(`ENV ${ins.args}: write KEY=value pairs`);
    else imageEnv.set(word.slice(0, eq), word.slice(eq + 1));
  }
}

// The environment Kubernetes gives the container in one kustomization: envFrom, then env in
// order, $(VAR) expanded from what is defined before, the downward API and configMapKeyRef
// resolved. [{name, value, source}] (value null when not knowable here) and problems.
function containerEnv(objs) {
  const configMaps = new Map(ofKindIn(objs, "ConfigMap").map((c) => [c.metadata?.name, c]));
  const vars = [];
  const problems = [];
  const known = new Map();
  const set = (name, value, source) => {
    vars.push({ name, value, source });
    known.set(name, value);
  };
  for (const from of container.envFrom ?? []) {
    const cm = from.configMapRef ? configMaps.get(from.configMapRef.name) : null;
    if (!cm) {
      problems.push(from.configMapRef ? `envFrom names ConfigMap ${from.configMapRef.name}, ` +
        "which is not in deploy/kubernetes" : "envFrom other than a ConfigMap: not checkable");
      continue;
    }
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      set(`${from.prefix ?? ""}${k}`, String(v), `ConfigMap ${cm.metadata.name}`);
    }
  }
  const downward = { "metadata.name": podName, "metadata.namespace": CHECK_NAMESPACE,
    "status.hostIP": CHECK_NODE_IP, "status.podIP": "192.0.2.20", "spec.nodeName": "node-0" };
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      const value = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name) => {
        if (!known.has(name)) {
          problems.push(`env ${e.name}: $(${name}) is not defined before it (Kubernetes leaves ` +
              "it unexpanded)");
          return whole;
        }
        return known.get(name) ?? whole;
      });
      set(e.name, value, "container env");
    } else if (e.valueFrom?.fieldRef) {
      const v = downward[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) problems.push(`env ${e.name}: fieldRef ${e.valueFrom.fieldRef.fieldPath}`);
      set(e.name, v ?? null, "container env (downward API)");
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const v = configMaps.get(ref.name)?.data?.[ref.key];
      if (v === undefined) problems.push(`env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      set(e.name, v === undefined ? null : String(v), `ConfigMap ${ref.name} key ${ref.key}`);
    } else {
      set(e.name, null, "container env (not checkable)");
    }
  }
  return { vars, problems, configMaps };
}
const baseEnv = containerEnv(base.objs);
const envVars = baseEnv.vars;
// A flag's value in the container: an argument, else the pod's environment, else the image's,
// else ferryd's default.
const valueIn = (vars, flag) => {
  const fromArgs = flagValue(argFlags, flag);
  if (fromArgs !== undefined) return fromArgs;
  const hit = vars.filter((e) => e.name === envNameOf(flag));
  if (hit.length > 0) return hit[hit.length - 1].value;
  return imageEnv.get(envNameOf(flag)) ?? ferrydHelp.get(flag);
};
const effective = (flag) => valueIn(envVars, flag);
const configured = effective;

// --- image ----------------------------------------------------------------------------------
{
  const problems = [];
  // FROM ${NAME} takes the default of an ARG before the first FROM (a --build-arg may swap the
  // base for one made here, as tests/image_test.sh does; the default is what users get).
  const text = fs.readFileSync(path.join(root, "Dockerfile"), "utf8");
  const globalArgs = new Map([...text.slice(0, text.search(/^FROM\s/m)).matchAll(
    /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*$/gm)].map((m) => [m[1], m[2]]));
  const from = (stage) => String(stage.from ?? "").replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
      (whole, name) => globalArgs.get(name) ?? whole);
  if (from(buildStage) !== "debian:bookworm") {
    problems.push(`build stage is FROM ${from(buildStage)}, want debian:bookworm`);
  }
  if (from(runtime) !== "debian:bookworm-slim") {
    problems.push(`runtime stage is FROM ${from(runtime)}, want debian:bookworm-slim`);
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
report.expect("flags: the container's arguments (Dockerfile ENTRYPOINT/CMD, container " +
    "command/args) are ferryd's flags",
    [...argFlags.filter((f) => !ferrydHelp.has(f.name)).map((f) => `${f.arg}: ferryd has no --${f.name}`),
      ...positional.map((a) => `"${a}": ferryd takes --name=value flags only`),
      ...argFlags.filter((f) => LOCAL_ONLY_FLAGS.has(f.name)).map((f) =>
        `${f.arg}: a local-run flag, meaningless in a container`),
      ...argFlags.filter((f) => ["fromenv", "tryfromenv", "flagfile"].includes(f.name)).map((f) =>
        `${f.arg}: ferryd reads FERRY_<FLAG> variables for every flag; drop it`)]);
{
  const problems = [...imageEnvProblems];
  for (const [name] of imageEnv) {
    if (!flagOfEnv.has(name)) problems.push(`Dockerfile ENV ${name}: ferryd has no such flag`);
    else if (LOCAL_ONLY_FLAGS.has(flagOfEnv.get(name))) {
      problems.push(`Dockerfile ENV ${name}: a local-run flag, meaningless in an image`);
    }
  }
  report.expect("flags: every FERRY_ variable in the Dockerfile's ENV is a ferryd flag", problems);
}
for (const v of variants) {
  const { vars, problems } = containerEnv(v.objs);
  const referenced = new Set((container.env ?? []).flatMap((e) =>
    [...String(e.value ?? "").matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1])));
  for (const e of vars) {
    if (e.name.startsWith("FERRY_")) {
      const flag = flagOfEnv.get(e.name);
      if (flag === undefined) {
        problems.push(`${e.source}: ${e.name}: ferryd has no --${e.name.slice(6).toLowerCase()
            .replaceAll("_", "-")} (ferryd --help lists each flag's variable)`);
      } else if (LOCAL_ONLY_FLAGS.has(flag)) {
        problems.push(`${e.source}: ${e.name}: a local-run flag, meaningless in a container`);
      } else {
        const arg = argFlags.find((f) => f.name === flag);
        if (arg) problems.push(`${e.source}: ${e.name} is overridden by the argument ${arg.arg}`);
      }
    } else if (e.source.startsWith("ConfigMap") && e.source.includes("ferry-flags")) {
      problems.push(`${e.source}: ${e.name} is not FERRY_<FLAG>; ferryd reads nothing else`);
    } else if (!referenced.has(e.name)) {
      problems.push(`${e.source}: ${e.name} is neither a FERRY_ flag nor used by a $(${e.name}) ` +
          "reference: nothing reads it");
    }
  }
  const used = new Set([...(container.envFrom ?? []).map((f) => f.configMapRef?.name),
    ...(container.env ?? []).map((e) => e.valueFrom?.configMapKeyRef?.name)]);
  for (const cm of ofKindIn(v.objs, "ConfigMap")) {
    if (!used.has(cm.metadata?.name)) {
      problems.push(`ConfigMap ${cm.metadata?.name} is not used by the ferryd container`);
    }
  }
  report.expect(`flags (${v.name}): every variable the container gets is a ferryd flag or feeds ` +
      "one, every ConfigMap is used", problems);
}

// --- ports ----------------------------------------------------------------------------------
// --kafka-listen as ferryd parses it (server/kafka/listeners.cc): [NAME://]host:port,...
const parseListeners = (text, needPort) => String(text ?? "").split(",").map((s) => s.trim())
    .filter(Boolean).map((item) => {
      const m = /^(?:([A-Z0-9_]+):\/\/)?(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(item);
      if (!m || (needPort && m[3] === undefined)) return { item, bad: true };
      return { item, name: m[1] ?? "PLAINTEXT", host: m[2], port: m[3] === undefined ? null
        : Number(m[3]) };
    });
const defaultGrpc = parseHostPort(ferrydHelp.get("listen"));
const defaultMetrics = parseHostPort(ferrydHelp.get("metrics-listen"));
const grpcAddr = parseHostPort(effective("listen"));
const metricsAddr = parseHostPort(effective("metrics-listen"));
const kafkaListeners = parseListeners(effective("kafka-listen"), true);
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
  if (kafkaListeners.length === 0) problems.push("--kafka-listen is empty: no Kafka client can connect");
  const names = new Set();
  for (const l of kafkaListeners) {
    if (l.bad) {
      problems.push(`--kafka-listen entry "${l.item}" is not [NAME://]host:port`);
      continue;
    }
    if (names.has(l.name)) problems.push(`--kafka-listen names ${l.name} twice`);
    names.add(l.name);
    if (!["", "0.0.0.0", "[::]"].includes(l.host)) {
      problems.push(`Kafka listener ${l.name} listens on ${l.host}; Services need 0.0.0.0`);
    }
  }
  report.expect("ports: the image listens on all interfaces (gRPC and metrics on ferryd's " +
      "default ports, every Kafka listener)", problems);
}
if (grpcAddr === null || metricsAddr === null || kafkaListeners.some((l) => l.bad)) {
  process.exit(report.finish());
}
const grpcPort = grpcAddr.port;
const metricsPort = metricsAddr.port;
const listenPorts = [grpcPort, metricsPort, ...kafkaListeners.map((l) => l.port)];
const wanted = [...listenPorts].sort((a, b) => a - b).join(" ");
const listenersText = "--listen, --metrics-listen and each --kafka-listen listener";
{
  const exposed = runtime.instructions.filter((i) => i.keyword === "EXPOSE")
      .flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/i, "")));
  const got = [...exposed].sort((a, b) => a - b).join(" ");
  report.expect(`ports: Dockerfile EXPOSE = the ports of ${listenersText}`, got === wanted
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
  report.expect(`ports: containerPorts = the ports of ${listenersText}`, got === wanted ? []
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
// --- advertise ------------------------------------------------------------------------------
// Kafka clients bootstrap from any address, then connect to what Metadata advertises for the
// listener they came in on. For each kustomization, every listener's advertised address must be
// one its clients reach: the pod's DNS name under the StatefulSet's headless Service (port: the
// listener's own), a NodePort (port: the nodePort) or LoadBalancer (port: the Service port)
// Service reaching the listener, or 127.0.0.1 with the listener's port for a port-forward.
const podDnsNames = [`${podName}.${sts.spec?.serviceName}.${CHECK_NAMESPACE}.svc.cluster.local`,
  `${podName}.${sts.spec?.serviceName}.${CHECK_NAMESPACE}.svc`];
const advertisedIn = (vars) => {
  const out = new Map();
  for (const a of parseListeners(valueIn(vars, "kafka-advertise"), false)) {
    if (a.bad) out.set(`bad:${a.item}`, a);
    else out.set(a.name, a);
  }
  // One unnamed entry belongs to the only listener.
  if (kafkaListeners.length === 1 && out.has("PLAINTEXT") && kafkaListeners[0].name !== "PLAINTEXT") {
    out.set(kafkaListeners[0].name, out.get("PLAINTEXT"));
    out.delete("PLAINTEXT");
  }
  return out;
};
const advertisedBase = advertisedIn(envVars);
for (const v of variants) {
  const problems = [];
  const { vars } = containerEnv(v.objs);
  const advertised = advertisedIn(vars);
  const services = ofKindIn(v.objs, "Service").filter((s) => selects(s.spec?.selector, podLabels));
  for (const [key, a] of advertised) {
    if (a.bad) problems.push(`--kafka-advertise entry "${a.item}" is not [NAME://]host[:port]`);
    else if (!kafkaListeners.some((l) => l.name === key)) {
      problems.push(`--kafka-advertise names ${key}, which --kafka-listen does not have`);
    }
  }
  let inCluster = 0;
  for (const l of kafkaListeners) {
    const a = advertised.get(l.name);
    if (!a) {
      problems.push(`listener ${l.name} advertises 127.0.0.1 (nothing in --kafka-advertise): ` +
          "clients in other pods cannot follow it");
      continue;
    }
    if (a.host === null || a.host.includes("$(")) {
      problems.push(`listener ${l.name} advertises "${a.item}", which is not resolved here`);
      continue;
    }
    const port = a.port ?? l.port;
    const reach = [];
    if (podDnsNames.includes(a.host)) {
      inCluster++;
      if (port !== l.port) {
        reach.push(`the pod DNS name ${a.host} reaches the pod's own port ${l.port}, not ${port}`);
      }
    } else if (["127.0.0.1", "localhost"].includes(a.host)) {
      if (port !== l.port) {
        reach.push(`127.0.0.1:${port} (a port-forward) must keep the listener's port ${l.port}`);
      }
    } else {
      const hits = services.flatMap((s) => (s.spec?.ports ?? []).filter((p) =>
        resolvePort(p.targetPort ?? p.port) === l.port).map((p) => ({ s, p })));
      const ok = hits.some(({ s, p }) => (s.spec?.type === "NodePort" && p.nodePort === port) ||
          (s.spec?.type === "LoadBalancer" && (p.port === port)));
      if (!ok) {
        reach.push(`${a.host}:${port}: no NodePort or LoadBalancer Service reaches container ` +
            `port ${l.port} on port ${port}` + (hits.length > 0 ? ` (found ${hits.map(({ s, p }) =>
              `${s.metadata?.name} ${s.spec?.type ?? "ClusterIP"} ${p.nodePort ?? p.port}`)
                .join(", ")})` : ""));
      }
    }
    problems.push(...reach.map((r) => `listener ${l.name}: ${r}`));
  }
  if (inCluster === 0) {
    problems.push(`no listener advertises the pod's DNS name (${podDnsNames[0]} with ` +
        "$(POD_NAME) and $(POD_NAMESPACE) from the downward API): clients in the cluster have " +
        "no address to follow");
  }
  const bootstrap = services.filter((s) => (s.spec?.type ?? "ClusterIP") === "ClusterIP" &&
      s.spec?.clusterIP !== "None" && (s.spec?.ports ?? []).some((p) => {
    const target = resolvePort(p.targetPort ?? p.port);
    return kafkaListeners.some((l) => l.port === target &&
        podDnsNames.includes(advertised.get(l.name)?.host));
  }));
  if (bootstrap.length === 0) {
    problems.push("no ClusterIP Service exposes the in-cluster Kafka listener for bootstrap");
  }
  report.expect(`advertise (${v.name}): each Kafka listener advertises an address its ` +
      "clients reach", problems);
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
// The container's environment: the image's ENV, then what Kubernetes gives it (the downward API
// as substituted above), nothing from this process but PATH.
const podEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...Object.fromEntries(imageEnv) };
for (const e of envVars) if (e.name && e.value !== null) podEnv[e.name] = e.value;
// The same listeners on free ports of 127.0.0.1 (arguments win over the environment).
const local = (dir) => [`--listen=127.0.0.1:0`, `--metrics-listen=127.0.0.1:0`,
  `--kafka-listen=${kafkaListeners.map((l) => `${l.name}://127.0.0.1:0`).join(",")}`,
  `--data-dir=${path.join(dir, "data")}`, `--port-file=${path.join(dir, "grpc.port")}`,
  `--metrics-port-file=${path.join(dir, "metrics.port")}`,
  `--kafka-port-file=${path.join(dir, "kafka.port")}`];
// Kafka Metadata v1 for no topics on 127.0.0.1:port: the first broker's host and port.
const kafkaAdvertised = (port) => new Promise((resolve) => {
  const clientId = Buffer.from("deploy-check");
  const req = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 4);
  let o = req.writeInt32BE(req.length - 4, 0);
  o = req.writeInt16BE(3, o);  // Metadata
  o = req.writeInt16BE(1, o);  // v1
  o = req.writeInt32BE(7, o);  // correlation id
  o = req.writeInt16BE(clientId.length, o);
  o += clientId.copy(req, o);
  req.writeInt32BE(0, o);  // no topics
  const sock = net.connect({ host: "127.0.0.1", port });
  let got = Buffer.alloc(0);
  const done = (v) => { sock.destroy(); resolve(v); };
  sock.setTimeout(5000, () => done({ error: "no answer within 5 s" }));
  sock.on("error", (e) => done({ error: e.message }));
  sock.on("connect", () => sock.write(req));
  sock.on("data", (c) => {
    got = Buffer.concat([got, c]);
    if (got.length < 4 || got.length < 4 + got.readInt32BE(0)) return;
    let p = 8;  // size, correlation id
    if (got.readInt32BE(p) < 1) return done({ error: "no brokers in Metadata" });
    p += 4 + 4;  // count, node id
    const hostLen = got.readInt16BE(p);
    const host = got.subarray(p + 2, p + 2 + hostLen).toString("utf8");
    done({ host, port: got.readInt32BE(p + 2 + hostLen) });
  });
});
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ferry-deploy-check-"));
try {
  // Every numeric or boolean flag the ConfigMap sets, given a bad value, must make ferryd refuse
  // to start: proof that the variable reaches it.
  const numeric = envVars.filter((e) => e.value !== null && flagOfEnv.has(e.name) &&
      /^(-?\d+|true|false)$/.test(ferrydHelp.get(flagOfEnv.get(e.name)) ?? ""));
  const ignored = [];
  for (const e of numeric) {
    const dir = fs.mkdtempSync(path.join(tmp, "probe-"));
    const r = spawnSync(ferryd, [...argv.slice(1), ...local(dir)], {
      env: { ...podEnv, [e.name]: "not-a-value" }, encoding: "utf8", timeout: 20000 });
    if (r.status === 0 || r.signal) ignored.push(`${e.name}=not-a-value did not stop ferryd`);
  }
  report.expect(`run: ferryd reads each of the ${numeric.length} numeric/boolean FERRY_* ` +
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
    const kafkaPorts = fs.readFileSync(path.join(dir, "kafka.port"), "utf8").trim().split("\n")
        .map(Number);
    for (let i = 0; i < kafkaListeners.length; i++) {
      const l = kafkaListeners[i];
      const a = advertisedBase.get(l.name);
      const want = a ? `${a.host}:${a.port ?? l.port}` : `127.0.0.1:${kafkaPorts[i]}`;
      const got = await kafkaAdvertised(kafkaPorts[i]);
      const gotText = got.error ?? `${got.host}:${got.port}`;
      if (gotText !== want) {
        problems.push(`Kafka listener ${l.name}: Metadata advertises ${gotText}, the manifests ` +
            `say ${want}`);
      }
    }
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
      `/readyz and ${metricsPath}${healthcheck ? ", passes HEALTHCHECK" : ""}, advertises on ` +
      "each Kafka listener what the manifests say, and exits 0 on " +
      "SIGTERM", problems);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}

process.exit(report.finish());

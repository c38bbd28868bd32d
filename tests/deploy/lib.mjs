// What the deploy checks read, each read the way its real consumer reads it: manifests as
// Kubernetes parses YAML (1.1), the Dockerfile as Docker splits instructions, and ferryd's flags
// from `ferryd --help`. Plus a small pass/fail reporter.
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import YAML from "yaml";

// --- reporting ------------------------------------------------------------------------------

// Collects check results and prints one line each; finish() prints the total and the exit code.
export class Report {
  constructor(title) {
    this.title = title;
    this.passed = 0;
    this.failed = 0;
  }

  ok(what) {
    this.passed++;
    console.log(`ok    ${what}`);
  }

  fail(what, details) {
    this.failed++;
    console.log(`FAIL  ${what}`);
    for (const d of [details].flat().filter(Boolean)) console.log(`        ${d}`);
  }

  note(what) {
    console.log(`note  ${what}`);
  }

  // Passes when problems is empty; otherwise fails with each problem on its own line.
  expect(what, problems) {
    if (problems.length === 0) this.ok(what);
    else this.fail(what, problems);
  }

  finish() {
    console.log(`${this.title}: ${this.passed} passed, ${this.failed} failed`);
    return this.failed === 0 ? 0 : 1;
  }
}

// --- manifests ------------------------------------------------------------------------------

// Every .yaml/.yml file under dir, sorted, so output and results are stable.
export function yamlFilesUnder(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...yamlFilesUnder(p));
    } else if (/\.ya?ml$/.test(entry.name)) {
      out.push(p);
    }
  }
  return out.sort();
}

// The documents of a YAML file as plain objects. YAML 1.1 like Kubernetes' parser, so `on` or
// `0755` mean here what they mean to kubectl. Parse errors and duplicate keys throw.
export function loadYamlDocs(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
  const out = [];
  docs.forEach((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${file}: ${problems.map((e) => e.message).join("; ")}`);
    }
    const obj = doc.toJS();
    if (obj !== null && obj !== undefined) out.push({ file, index, obj });
  });
  return out;
}

export function isKustomization(obj) {
  return typeof obj?.apiVersion === "string" &&
      obj.apiVersion.startsWith("kustomize.config.k8s.io/") && obj.kind === "Kustomization";
}

// All documents under dir, split into Kustomizations and the Kubernetes objects they list.
export function loadDeployDir(dir) {
  const kustomizations = [];
  const objects = [];
  for (const file of yamlFilesUnder(dir)) {
    for (const doc of loadYamlDocs(file)) {
      (isKustomization(doc.obj) ? kustomizations : objects).push(doc);
    }
  }
  return { kustomizations, objects };
}

// "deploy/kubernetes/service.yaml" for messages, and "#1" after it when a file has several docs.
export function describe(root, doc) {
  const rel = path.relative(root, doc.file);
  const name = doc.obj?.metadata?.name ?? "(no name)";
  return `${rel}${doc.index > 0 ? `#${doc.index}` : ""} ${doc.obj?.kind}/${name}`;
}

// True when every label the selector asks for is on labels (matchLabels only; the checks refuse
// matchExpressions rather than guess).
export function selects(matchLabels, labels) {
  if (!matchLabels || Object.keys(matchLabels).length === 0) return false;
  return Object.entries(matchLabels).every(([k, v]) => labels?.[k] === v);
}

// --- Dockerfile -----------------------------------------------------------------------------

// Stages of a Dockerfile: [{from, name, instructions: [{keyword, args, line}]}]. Follows Docker's
// rules for the default escape character: a trailing backslash continues the instruction, and
// comment lines inside a continued instruction are dropped.
export function parseDockerfile(file) {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const instructions = [];
  let current = null;
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && current === null)) return;
    const continued = trimmed.endsWith("\\");
    const body = continued ? trimmed.slice(0, -1) : trimmed;
    if (current === null) current = { text: body, line: i + 1 };
    else current.text += ` ${body}`;
    if (!continued) {
      instructions.push(current);
      current = null;
    }
  });
  if (current !== null) instructions.push(current);

  const stages = [];
  for (const { text, line } of instructions) {
    const m = /^(\S+)\s*(.*)$/s.exec(text);
    const keyword = m[1].toUpperCase();
    const args = m[2].trim();
    if (keyword === "FROM") {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: f?.[1], name: f?.[2], line, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push({ keyword, args, line });
    }
  }
  return stages;
}

// The last instruction of a kind in a stage (Docker uses the last ENTRYPOINT, CMD, ...).
export function lastInstruction(stage, keyword) {
  const all = stage.instructions.filter((i) => i.keyword === keyword);
  return all.length > 0 ? all[all.length - 1] : null;
}

// ENTRYPOINT/CMD in exec (JSON) form as an array; null for shell form, which the checks refuse
// because a shell as PID 1 would not pass SIGTERM on to ferryd.
export function execForm(instruction) {
  if (!instruction || !instruction.args.startsWith("[")) return null;
  try {
    const v = JSON.parse(instruction.args);
    return Array.isArray(v) && v.every((s) => typeof s === "string") ? v : null;
  } catch {
    return null;
  }
}

// Packages named by `apt-get install` in a stage's RUN instructions.
export function aptInstalls(stage) {
  const packages = [];
  for (const ins of stage.instructions.filter((i) => i.keyword === "RUN")) {
    for (const command of ins.args.split(/&&|\|\||;|\|/)) {
      const words = command.trim().split(/\s+/);
      const at = words.indexOf("install");
      if (at < 0 || !words.slice(0, at).some((w) => /^apt(-get)?$/.test(w))) continue;
      packages.push(...words.slice(at + 1).filter((w) => w !== "" && !w.startsWith("-")));
    }
  }
  return packages;
}

// --- ferryd ---------------------------------------------------------------------------------

// ferryd's flags as `ferryd --help` prints them: Map of dashed name -> default value.
export function ferrydFlags(ferryd) {
  const help = execFileSync(ferryd, ["--help"], { encoding: "utf8", timeout: 20000 });
  const flags = new Map();
  for (const m of help.matchAll(/^ {2}--([a-z0-9][a-z0-9-]*) \(default: "(.*)"\)$/gm)) {
    flags.set(m[1], m[2]);
  }
  if (flags.size === 0) throw new Error(`no flags found in \`${ferryd} --help\`:\n${help}`);
  return flags;
}

// Abseil's own flags that ferryd accepts but does not list: they read FLAGS_<name> variables.
export const ENV_FLAGS = new Set(["fromenv", "tryfromenv"]);

// Splits `--name=value` / `--name` arguments. Names are given dashed (ferryd's spelling; it also
// accepts underscores). Anything else is returned in `others`.
export function parseFlagArgs(args) {
  const flags = [];
  const others = [];
  for (const a of args) {
    const m = /^--([A-Za-z0-9_-]+)(?:=(.*))?$/s.exec(a);
    if (m) flags.push({ name: m[1].replaceAll("_", "-"), value: m[2] ?? null, arg: a });
    else others.push(a);
  }
  return { flags, others };
}

export function flagValue(flags, name) {
  const all = flags.filter((f) => f.name === name);
  return all.length > 0 ? all[all.length - 1].value : undefined;
}

// The flag names a --fromenv/--tryfromenv list names, as given (Abseil wants underscores).
export function envFlagNames(flags) {
  return flags.filter((f) => ENV_FLAGS.has(f.name))
      .flatMap((f) => (f.value ?? "").split(","))
      .map((s) => s.trim())
      .filter((s) => s !== "");
}

// "0.0.0.0:50051" -> {host: "0.0.0.0", port: 50051}; also "[::]:50051".
export function parseHostPort(address) {
  const m = /^(\[[^\]]*\]|[^:]*):(\d+)$/.exec(address ?? "");
  return m ? { host: m[1], port: Number(m[2]) } : null;
}

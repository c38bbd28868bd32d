// Validates every manifest under deploy/kubernetes against the Kubernetes API's own schemas,
// offline:
//  1. kubernetes-models: the Kubernetes OpenAPI schemas (and the Prometheus Operator CRDs for
//     ServiceMonitor) compiled to JSON-schema validators: types, required fields, enums, formats.
//  2. The same package's TypeScript types, through the TypeScript compiler: an object literal may
//     only name known fields, so a misspelled field (`readinesProbe`) fails here, where the
//     schemas (which allow unknown fields, as the API server does) let it pass while kubectl
//     would drop or reject it.
//  3. Each kustomization.yaml against kustomization.schema.json; its resources exist, and every
//     manifest belongs to some kustomization.
// Usage: node schema_check.mjs <repo root>
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import ts from "typescript";
import { Report, describe, loadDeployDir } from "./lib.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(process.argv[2] ?? path.join(here, "..", ".."));
const deployDir = path.join(root, "deploy", "kubernetes");
const report = new Report("deploy schema checks");

// Module paths that may define apiVersion/kind, most specific package last.
function modelModules(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (group === "") return [`kubernetes-models/${version}/${kind}`];
  return [`kubernetes-models/${group}/${version}/${kind}`,
    `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`];
}

async function findModel(apiVersion, kind) {
  for (const mod of modelModules(apiVersion, kind)) {
    try {
      const m = await import(mod);
      if (typeof m[kind] === "function") return { mod, Model: m[kind] };
    } catch (e) {
      if (e.code !== "ERR_MODULE_NOT_FOUND" && e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
    }
  }
  return null;
}

// --- 1. JSON schemas ------------------------------------------------------------------------
const { kustomizations, objects } = loadDeployDir(deployDir);
const typed = []; // {doc, mod} for the TypeScript pass
for (const doc of objects) {
  const what = `schema: ${describe(root, doc)}`;
  const { apiVersion, kind } = doc.obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    report.fail(what, "apiVersion and kind must be strings");
    continue;
  }
  const found = await findModel(apiVersion, kind);
  if (found === null) {
    report.fail(what, `no schema for ${apiVersion} ${kind} in kubernetes-models or ` +
        "@kubernetes-models/prometheus-operator (a typo in apiVersion or kind?)");
    continue;
  }
  try {
    new found.Model(doc.obj).validate();
    report.ok(what);
  } catch (e) {
    const errors = e.errors ?? [];
    report.fail(what, errors.length > 0
      ? errors.map((x) => `${x.instancePath || "/"}: ${x.message}${x.params?.allowedValues
        ? ` (${x.params.allowedValues.join(", ")})` : ""}`)
      : [e.message]);
  }
  typed.push({ doc, mod: found.mod });
}

// --- 2. Unknown fields, through TypeScript's excess-property check -------------------------
// Serializes value as a TypeScript literal, one field per line, remembering each line's path.
function literal(value, where, indent) {
  const lines = [];
  const nested = (v, p, prefix, last) => {
    const sub = literal(v, p, `${indent}  `);
    sub[0].text = `${indent}  ${prefix}${sub[0].text}`;
    if (!last) sub[sub.length - 1].text += ",";
    lines.push(...sub);
  };
  if (Array.isArray(value) && value.length > 0) {
    lines.push({ text: "[", where });
    value.forEach((v, i) => nested(v, `${where}[${i}]`, "", i === value.length - 1));
    lines.push({ text: `${indent}]`, where });
  } else if (value !== null && typeof value === "object" && Object.keys(value).length > 0) {
    lines.push({ text: "{", where });
    const keys = Object.keys(value);
    keys.forEach((k, i) => nested(value[k], `${where}.${k}`, `${JSON.stringify(k)}: `,
        i === keys.length - 1));
    lines.push({ text: `${indent}}`, where });
  } else {
    lines.push({ text: JSON.stringify(value), where });
  }
  return lines;
}

if (typed.length > 0) {
  const source = []; // {text, doc, where}
  typed.forEach(({ doc, mod }, i) => {
    source.push({ text: `import type { I${doc.obj.kind} as T${i} } from ${JSON.stringify(mod)};` });
  });
  typed.forEach(({ doc }, i) => {
    const lines = literal(doc.obj, "", "");
    lines[0].text = `export const doc${i}: T${i} = ${lines[0].text}`;
    lines[lines.length - 1].text += ";";
    source.push(...lines.map((l) => ({ ...l, doc })));
  });

  // A file that exists only in memory, beside node_modules so that imports resolve.
  const virtual = path.join(here, "__manifests__.ts");
  const text = source.map((l) => l.text).join("\n") + "\n";
  const options = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ["lib.es2020.d.ts"],
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (f, ...rest) =>
    path.resolve(f) === virtual ? ts.createSourceFile(f, text, ts.ScriptTarget.ES2020, true)
      : getSourceFile(f, ...rest);
  host.fileExists = (f) => path.resolve(f) === virtual || fileExists(f);
  const program = ts.createProgram([virtual], options, host);
  const problems = new Map(); // doc -> messages
  const general = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    let message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    const excess = new RegExp("^Object literal may only specify known properties, and " +
        "'\"?(.+?)\"?' does not exist in type '(.*)'\\.$", "s").exec(message);
    if (excess) {
      message = `unknown field "${excess[1]}"` +
          (excess[2].length <= 60 ? ` (${excess[2]} has no such field)` : "");
    }
    if (message.length > 240) message = `${message.slice(0, 240)}...`;
    if (d.file && path.resolve(d.file.fileName) === virtual && d.start !== undefined) {
      const line = source[d.file.getLineAndCharacterOfPosition(d.start).line];
      if (line?.doc) {
        const list = problems.get(line.doc) ?? [];
        list.push(`${line.where || "/"}: ${message}`);
        problems.set(line.doc, list);
        continue;
      }
    }
    general.push(message);
  }
  for (const { doc } of typed) {
    report.expect(`known fields only: ${describe(root, doc)}`, problems.get(doc) ?? []);
  }
  if (general.length > 0) report.fail("TypeScript check of the manifests ran cleanly", general);
}

// --- 3. Kustomizations ----------------------------------------------------------------------
const ajv = new Ajv({ allErrors: true });
const validateKustomization = ajv.compile(
    JSON.parse(fs.readFileSync(path.join(here, "kustomization.schema.json"), "utf8")));
const listed = new Set();
if (!kustomizations.some((k) => path.dirname(k.file) === deployDir)) {
  report.fail("deploy/kubernetes/kustomization.yaml exists", "kubectl apply -k needs it");
}
for (const k of kustomizations) {
  const rel = path.relative(root, k.file);
  const problems = [];
  if (!validateKustomization(k.obj)) {
    problems.push(...validateKustomization.errors.map((e) =>
      `${e.instancePath || "/"}: ${e.message}${e.params?.additionalProperty
        ? ` (${e.params.additionalProperty})` : ""}`));
  }
  for (const r of Array.isArray(k.obj.resources) ? k.obj.resources : []) {
    const target = path.resolve(path.dirname(k.file), String(r));
    if (!fs.existsSync(target)) {
      problems.push(`resource ${r} does not exist`);
    } else if (fs.statSync(target).isDirectory()) {
      if (!fs.existsSync(path.join(target, "kustomization.yaml"))) {
        problems.push(`resource ${r} is a directory without a kustomization.yaml`);
      }
    } else {
      listed.add(target);
    }
  }
  report.expect(`kustomization: ${rel}`, problems);
}
const unlisted = [...new Set(objects.map((o) => o.file))].filter((f) => !listed.has(f));
report.expect("every manifest is listed in a kustomization.yaml",
    unlisted.map((f) => `${path.relative(root, f)} is in no kustomization's resources`));

process.exit(report.finish());

// Checks of tokend's Kubernetes manifests and Helm chart, run by the scripts beside this file
// (see README.md). Needs the npm packages of package.json: the scripts copy this file into a
// temporary folder and install them there with `npm ci`, then run it from that folder.
//
//   node validate.mjs plain ROOT                  deploy/kubernetes: schemas, policy, references,
//                                                 the PrometheusRule against the rules file
//   node validate.mjs rendered ROOT NAME FILE [SECRET...]
//                                                 the same checks on `helm template` output
//                                                 (SECRETs: made beforehand, not rendered)
//   node validate.mjs compare NAME FILE KIND_FILTER PLAIN_FILE...
//                                                 helm output == plain manifests (objects, fields)
//   node validate.mjs chart ROOT                  the chart without helm: values against the
//                                                 schema, values used by templates, README table,
//                                                 versions, the rules copy
//
// Prints one `ok` or `FAIL` line per check and a closing `N passed, M failed` line; exits 1 when a
// check failed, 2 on usage errors.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import YAML from "yaml";

const require = createRequire(import.meta.url);

// ------------------------------------------------------------------------------- reporting
let passed = 0;
let failed = 0;
function report(what, problems) {
  if (problems.length === 0) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}`);
    for (const p of problems.slice(0, 25)) console.log(`       ${p.length > 300 ? `${p.slice(0, 300)}...` : p}`);
    if (problems.length > 25) console.log(`       ... and ${problems.length - 25} more`);
  }
}
function finish(label) {
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

// ------------------------------------------------------------------------------- YAML
// Kubernetes (and helm) read YAML 1.1, so the manifests are parsed the same way: `0440` is octal,
// `yes` a boolean. Duplicate keys are errors.
function parseDocs(text, source) {
  const docs = YAML.parseAllDocuments(text, { version: "1.1", uniqueKeys: true });
  const out = [];
  docs.forEach((d, i) => {
    if (d.errors.length > 0) {
      throw new Error(`${source}: document ${i + 1}: ${d.errors.map((e) => e.message).join("; ")}`);
    }
    const obj = d.toJS({ maxAliasCount: 100 });
    if (obj === null || obj === undefined) return; // an empty document (helm output has some)
    out.push({ obj, source: docs.length > 1 ? `${source} (document ${i + 1})` : source });
  });
  return out;
}
function readDocs(file, label = file) {
  return parseDocs(fs.readFileSync(file, "utf8"), label);
}
function readYaml(file) {
  return YAML.parse(fs.readFileSync(file, "utf8"), { version: "1.1", uniqueKeys: true });
}
const id = (o) => `${o.kind}/${o.metadata?.name}`;

// ------------------------------------------------------------------------------- schemas
// Each apiVersion to the module of kubernetes-models (or of its prometheus-operator models)
// holding its kinds; every kind is a class with validate().
function modelFor(apiVersion, kind) {
  const mod = apiVersion.startsWith("monitoring.coreos.com/")
    ? `@kubernetes-models/prometheus-operator/${apiVersion}`
    : `kubernetes-models/${apiVersion}`;
  let exports;
  try {
    exports = require(mod);
  } catch {
    return null;
  }
  const Model = exports[kind];
  return typeof Model === "function" && typeof Model.prototype.validate === "function" ? Model : null;
}

// Wraps obj so that every own property the validator reads is recorded in `seen`.
function track(obj, where, seen) {
  if (obj === null || typeof obj !== "object") return obj;
  return new Proxy(obj, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key === "string" && Object.hasOwn(target, key)) {
        const p = `${where}/${key}`;
        seen.add(p);
        return track(value, p, seen);
      }
      return value;
    },
  });
}
function unreadPaths(obj, where, seen, out) {
  if (obj === null || typeof obj !== "object") return out;
  for (const key of Object.keys(obj)) {
    const p = `${where}/${key}`;
    if (!seen.has(p)) out.push(p);
    else unreadPaths(obj[key], p, seen, out);
  }
  return out;
}

// The API schema of the object's kind (kubernetes-models' validate()), then unknown fields: the
// schemas allow any extra property, as the API server's non-strict decoding drops them, so a
// misspelt field would pass. Every property the schema knows is read by the compiled validator;
// what it never reads is not in the schema.
function schemaProblems(obj) {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return ["not an object"];
  if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") {
    return ["apiVersion and kind are required"];
  }
  const Model = modelFor(obj.apiVersion, obj.kind);
  if (!Model) return [`no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`];
  if (!obj.metadata?.name) return ["metadata.name is required"];
  const model = new Model(obj);
  try {
    model.validate();
  } catch (e) {
    return [`${obj.apiVersion} ${obj.kind} schema: ${e.message}`];
  }
  const seen = new Set();
  Model.prototype.validate.call(track(model, "", seen));
  return unreadPaths(model, "", seen, []).map((p) => `unknown field ${p.slice(1).replaceAll("/", ".")}`);
}

// ------------------------------------------------------------------------------- policy
const podSpecOf = (o) => (["Deployment", "StatefulSet", "DaemonSet"].includes(o.kind) ? o.spec?.template?.spec : null);
const containersOf = (pod) => [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
const isTokend = (c) => c.name === "tokend";

function parseFlags(args, problems) {
  const flags = new Map();
  for (const a of args ?? []) {
    const m = /^(--[a-z-]+)=(.*)$/s.exec(a);
    if (!m) {
      problems.push(`tokend argument "${a}" is not --flag=value`);
      continue;
    }
    if (flags.has(m[1])) problems.push(`tokend flag ${m[1]} given twice`);
    flags.set(m[1], m[2]);
  }
  return flags;
}
const isLoopback = (host) => host === "localhost" || host === "[::1]" || /^127\./.test(host);
const within = (file, dir) => file === dir || file.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
function portByName(container, name) {
  return (container.ports ?? []).find((p) => p.name === name)?.containerPort;
}

// What the issue asks of every workload: non-root, read-only root, no capabilities, seccomp,
// no service-account token, resources; Secrets mounted as folders; tokend's flags consistent
// with its ports, probes and volumes.
function workloadProblems(obj) {
  const pod = podSpecOf(obj);
  if (!pod) return [];
  const problems = [];
  const psc = pod.securityContext ?? {};
  if (psc.runAsNonRoot !== true) problems.push("pod securityContext.runAsNonRoot is not true");
  if (psc.runAsUser === 0) problems.push("pod securityContext.runAsUser is 0 (root)");
  if (psc.seccompProfile?.type !== "RuntimeDefault") {
    problems.push("pod securityContext.seccompProfile.type is not RuntimeDefault");
  }
  if (pod.automountServiceAccountToken !== false) {
    problems.push("pod automountServiceAccountToken is not false");
  }
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push("pod uses a host namespace");
  const sel = obj.spec?.selector?.matchLabels ?? {};
  const labels = obj.spec?.template?.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(sel)) {
    if (labels[k] !== v) problems.push(`selector ${k}=${v} does not match the pod template's labels`);
  }

  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  for (const c of containersOf(pod)) {
    const where = `container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) problems.push(`${where}: capabilities.drop lacks ALL`);
    if ((sc.capabilities?.add ?? []).length > 0) problems.push(`${where}: adds capabilities`);
    if (sc.runAsUser === 0) problems.push(`${where}: runAsUser is 0 (root)`);
    const r = c.resources ?? {};
    for (const need of ["requests.cpu", "requests.memory", "limits.memory"]) {
      const [a, b] = need.split(".");
      if (r[a]?.[b] === undefined) problems.push(`${where}: resources.${need} is not set`);
    }
    if (/:latest$/.test(c.image ?? "") || !/:[^/]+$/.test(c.image ?? "")) {
      problems.push(`${where}: image ${c.image} has no fixed tag`);
    }
    for (const m of c.volumeMounts ?? []) {
      const v = volumes.get(m.name);
      if (!v) {
        problems.push(`${where}: mounts volume ${m.name}, which the pod does not have`);
        continue;
      }
      if (v.secret && (m.subPath || m.subPathExpr)) {
        problems.push(`${where}: mounts Secret volume ${m.name} with subPath, which never sees updates: mount the folder`);
      }
    }
  }

  const tokends = containersOf(pod).filter(isTokend);
  if (tokends.length === 0) return problems;
  if (tokends.length > 1) problems.push("more than one tokend container");
  const t = tokends[0];
  if (t.command) problems.push("tokend container overrides the image's command (use args)");
  const flags = parseFlags(t.args, problems);
  const mounts = (t.volumeMounts ?? []).map((m) => ({ ...m, volume: volumes.get(m.name) }));
  const mountOf = (file) => mounts.filter((m) => within(file, m.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];

  // Credentials: each Secret volume under --secrets-dir is mounted right below it.
  const secretsDir = flags.get("--secrets-dir") ?? "/var/run/secrets/tokend";
  const credentialMounts = mounts.filter((m) => within(m.mountPath, secretsDir));
  if (credentialMounts.length === 0) problems.push(`tokend: nothing is mounted under --secrets-dir ${secretsDir}`);
  for (const m of credentialMounts) {
    const rest = m.mountPath.slice(secretsDir.length).replace(/^\//, "");
    if (!m.volume?.secret) problems.push(`tokend: ${m.mountPath} under --secrets-dir is not a Secret volume`);
    if (rest === "" || rest.includes("/")) {
      problems.push(`tokend: credential mount ${m.mountPath} is not one folder below --secrets-dir ${secretsDir}`);
    }
    if (m.readOnly !== true) problems.push(`tokend: credential mount ${m.mountPath} is not readOnly`);
  }

  // Listeners: a Unix socket lives in a writable emptyDir (the root is read-only), shared with
  // the app containers; a TCP port is declared, and needs TLS unless it is loopback.
  const listen = (flags.get("--listen") ?? "unix:///run/tokend/tokend.sock").split(",");
  let tcp = 0;
  for (const addr of listen) {
    if (addr.startsWith("unix://")) {
      const dir = path.posix.dirname(addr.slice("unix://".length));
      const m = mounts.find((x) => x.mountPath === dir);
      if (!m?.volume?.emptyDir) problems.push(`tokend: the socket folder ${dir} is not an emptyDir mounted there`);
      const apps = (pod.containers ?? []).filter((c) => !isTokend(c));
      if (m && apps.length > 0 && !apps.some((c) => (c.volumeMounts ?? []).some((x) => x.name === m.name))) {
        problems.push(`tokend: no app container mounts the socket volume ${m.name}`);
      }
      continue;
    }
    const hm = /^(.*):(\d+)$/.exec(addr);
    if (!hm) {
      problems.push(`tokend: --listen address ${addr} is neither unix:// nor HOST:PORT`);
      continue;
    }
    tcp++;
    if (!isLoopback(hm[1]) && !(flags.has("--tls-cert-file") && flags.has("--tls-key-file"))) {
      problems.push(`tokend: ${addr} is not loopback and has no --tls-cert-file/--tls-key-file`);
    }
    if (!isLoopback(hm[1]) && portByName(t, "grpc") !== Number(hm[2])) {
      problems.push(`tokend: listens on ${hm[2]} but its containerPort named grpc is ${portByName(t, "grpc")}`);
    }
  }
  if (tcp === 0 && portByName(t, "grpc") !== undefined) problems.push("tokend: port grpc declared but no TCP --listen");
  for (const f of ["--tls-cert-file", "--tls-key-file", "--tls-client-ca-file"]) {
    if (!flags.has(f)) continue;
    const m = mountOf(flags.get(f));
    if (!m?.volume?.secret) problems.push(`tokend: ${f} ${flags.get(f)} is not in a mounted Secret`);
    else if (within(m.mountPath, secretsDir)) problems.push(`tokend: ${f} is under --secrets-dir, where every folder is a credential`);
  }
  if (flags.has("--tls-allowed-clients") && !flags.has("--tls-client-ca-file")) {
    problems.push("tokend: --tls-allowed-clients without --tls-client-ca-file (tokend refuses to start)");
  }
  for (const c of (flags.get("--tls-allowed-clients") ?? "").split(",").filter(Boolean)) {
    if (!/^(uri|dns):\S+$/.test(c)) problems.push(`tokend: --tls-allowed-clients entry "${c}" is not uri:VALUE or dns:VALUE`);
  }
  // The caller policy: a file in a ConfigMap (or Secret) mounted read-only as a folder, outside
  // --secrets-dir (referenceProblems checks that the ConfigMap has it).
  if (flags.has("--policy")) {
    const file = flags.get("--policy");
    const m = mountOf(file);
    if (!m?.volume?.configMap && !m?.volume?.secret) problems.push(`tokend: --policy ${file} is not in a mounted ConfigMap or Secret`);
    else {
      if (m.readOnly !== true) problems.push(`tokend: the --policy mount ${m.mountPath} is not readOnly`);
      if (m.subPath || m.subPathExpr) problems.push(`tokend: the --policy mount ${m.mountPath} uses subPath, which never sees updates`);
      if (within(m.mountPath, secretsDir)) problems.push("tokend: --policy is under --secrets-dir, where every folder is a credential");
    }
  }
  if (flags.has("--socket-mode") && !["0600", "0660"].includes(flags.get("--socket-mode"))) {
    problems.push(`tokend: --socket-mode ${flags.get("--socket-mode")} is neither 0600 nor 0660`);
  }

  // Metrics and probes: httpGet on the metrics port, /healthz for liveness (and startup),
  // /readyz for readiness.
  const ml = /^(.*):(\d+)$/.exec(flags.get("--metrics-listen") ?? "");
  if (!ml) problems.push("tokend: no --metrics-listen HOST:PORT (the probes and Prometheus need it)");
  else {
    if (isLoopback(ml[1])) problems.push("tokend: --metrics-listen is loopback: probes and Prometheus cannot reach it");
    if (portByName(t, "metrics") !== Number(ml[2])) {
      problems.push(`tokend: --metrics-listen port ${ml[2]} is not the containerPort named metrics (${portByName(t, "metrics")})`);
    }
  }
  const probe = (name, want, required) => {
    const p = t[name];
    if (!p) {
      if (required) problems.push(`tokend: no ${name}`);
      return;
    }
    if (p.httpGet?.path !== want || (p.httpGet?.port !== "metrics" && p.httpGet?.port !== Number(ml?.[2]))) {
      problems.push(`tokend: ${name} is not httpGet ${want} on the metrics port`);
    }
  };
  probe("livenessProbe", "/healthz", true);
  probe("readinessProbe", "/readyz", obj.kind === "Deployment" && (pod.containers ?? []).some(isTokend));
  probe("startupProbe", "/healthz", false);
  if (t.restartPolicy !== undefined && t.restartPolicy !== "Always") problems.push("tokend: restartPolicy other than Always");
  if (t.restartPolicy === "Always" && !(pod.initContainers ?? []).includes(t)) {
    problems.push("tokend: restartPolicy Always outside initContainers");
  }
  if ((pod.initContainers ?? []).includes(t) && t.restartPolicy !== "Always") {
    problems.push("tokend: in initContainers without restartPolicy: Always it would never let the pod start");
  }
  return problems;
}

// ------------------------------------------------------------------------------- references
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => (labels ?? {})[k] === v);

// References between the objects of one deployment: selectors select something, named ports
// exist, the HPA's target exists and leaves replicas to it, credential Secrets exist.
function referenceProblems(objs, { externalSecrets = [] } = {}) {
  const problems = [];
  const workloads = objs.filter((o) => podSpecOf(o));
  const podsMatching = (sel) => workloads.filter((w) => matches(sel, w.spec.template.metadata?.labels));
  const portNames = (ws) => new Set(ws.flatMap((w) => containersOf(w.spec.template.spec).flatMap((c) => (c.ports ?? []).map((p) => p.name))));
  const byKind = (k) => objs.filter((o) => o.kind === k);
  const secrets = new Set([...byKind("Secret").map((s) => s.metadata.name), ...externalSecrets]);

  for (const s of byKind("Service")) {
    const ws = podsMatching(s.spec?.selector);
    if (!s.spec?.selector || ws.length === 0) {
      problems.push(`${id(s)}: its selector matches no pod template`);
      continue;
    }
    for (const p of s.spec.ports ?? []) {
      if (typeof p.targetPort === "string" && !portNames(ws).has(p.targetPort)) {
        problems.push(`${id(s)}: targetPort ${p.targetPort} is no container port of the pods it selects`);
      }
    }
  }
  for (const o of [...byKind("PodDisruptionBudget"), ...byKind("NetworkPolicy")]) {
    const sel = o.kind === "NetworkPolicy" ? o.spec?.podSelector?.matchLabels : o.spec?.selector?.matchLabels;
    const ws = podsMatching(sel);
    if (ws.length === 0) problems.push(`${id(o)}: its selector matches no pod template`);
    if (o.kind === "NetworkPolicy") {
      for (const rule of o.spec?.ingress ?? []) {
        for (const p of rule.ports ?? []) {
          if (typeof p.port === "string" && !portNames(ws).has(p.port)) {
            problems.push(`${id(o)}: ingress port ${p.port} is no container port of its pods`);
          }
        }
      }
    }
  }
  for (const h of byKind("HorizontalPodAutoscaler")) {
    const ref = h.spec?.scaleTargetRef ?? {};
    const target = objs.find((o) => o.kind === ref.kind && o.metadata.name === ref.name);
    if (!target) problems.push(`${id(h)}: scaleTargetRef ${ref.kind}/${ref.name} is not here`);
    else if (target.spec?.replicas !== undefined) {
      problems.push(`${id(h)}: ${id(target)} sets replicas, which every apply resets under the autoscaler`);
    }
  }
  for (const sm of byKind("ServiceMonitor")) {
    const svcs = byKind("Service").filter((s) => matches(sm.spec?.selector?.matchLabels, s.metadata.labels));
    if (svcs.length === 0) problems.push(`${id(sm)}: its selector matches no Service's labels`);
    for (const e of sm.spec?.endpoints ?? []) {
      if (e.port && !svcs.some((s) => (s.spec.ports ?? []).some((p) => p.name === e.port))) {
        problems.push(`${id(sm)}: endpoint port ${e.port} is no port of the Services it selects`);
      }
    }
  }
  const configMaps = new Map(byKind("ConfigMap").map((c) => [c.metadata.name, c]));
  for (const w of workloads) {
    const pod = w.spec.template.spec;
    for (const v of pod.volumes ?? []) {
      if (v.configMap && !v.configMap.optional && !configMaps.has(v.configMap.name)) {
        problems.push(`${id(w)}: volume ${v.name} mounts ConfigMap ${v.configMap.name}, which is not here`);
      }
    }
    // tokend's --policy file: a key of the mounted ConfigMap, holding a policy tokend can parse
    // (JSON with a non-empty "rules"; tokend checks the rest at start).
    const t = containersOf(pod).find(isTokend);
    const policy = (t?.args ?? []).map((a) => /^--policy=(.+)$/s.exec(a)?.[1]).find(Boolean);
    const mount = policy && (t.volumeMounts ?? []).filter((m) => within(policy, m.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const cmName = mount && (pod.volumes ?? []).find((v) => v.name === mount.name)?.configMap?.name;
    if (cmName && configMaps.has(cmName)) {
      const key = policy.slice(mount.mountPath.replace(/\/$/, "").length + 1);
      const text = configMaps.get(cmName).data?.[key];
      if (text === undefined) problems.push(`${id(w)}: --policy ${policy}: ConfigMap ${cmName} has no key ${key}`);
      else {
        try {
          const doc = JSON.parse(text);
          if (!Array.isArray(doc?.rules) || doc.rules.length === 0) problems.push(`${id(w)}: --policy ${policy}: no "rules"`);
        } catch (e) {
          problems.push(`${id(w)}: --policy ${policy} (ConfigMap ${cmName} key ${key}) is not JSON: ${e.message}`);
        }
      }
    }
    const sa = pod.serviceAccountName;
    if (sa && sa !== "default" && !byKind("ServiceAccount").some((s) => s.metadata.name === sa)) {
      problems.push(`${id(w)}: serviceAccountName ${sa} is not here`);
    }
    for (const v of pod.volumes ?? []) {
      if (v.secret && !secrets.has(v.secret.secretName)) {
        problems.push(`${id(w)}: volume ${v.name} mounts Secret ${v.secret.secretName}, which is neither here nor documented`);
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------- monitoring
const EXPECTED_ALERTS = [
  "TokendTokenRenewalFailing",
  "TokendSecretReloadFailing",
  "TokendCachedTokenNearExpiry",
  "TokendValidationFailuresRising",
  "TokendCertificateExpiringSoon",
  "TokendTlsReloadFailing",
  "TokendPolicyReloadFailing",
];

// The fields prometheus-operator needs, checked by hand on top of the CRD schema.
function monitoringProblems(obj) {
  const problems = [];
  if (obj.kind === "ServiceMonitor") {
    if (!obj.spec?.selector || typeof obj.spec.selector !== "object") problems.push("spec.selector is required");
    if (!Array.isArray(obj.spec?.endpoints) || obj.spec.endpoints.length === 0) problems.push("spec.endpoints is empty");
    for (const [i, e] of (obj.spec?.endpoints ?? []).entries()) {
      if (!e.port && e.targetPort === undefined) problems.push(`spec.endpoints[${i}] names no port`);
    }
  }
  if (obj.kind === "PrometheusRule") {
    const groups = obj.spec?.groups;
    if (!Array.isArray(groups) || groups.length === 0) problems.push("spec.groups is empty");
    for (const [gi, g] of (groups ?? []).entries()) {
      if (!g.name) problems.push(`spec.groups[${gi}].name is required`);
      if (!Array.isArray(g.rules) || g.rules.length === 0) problems.push(`spec.groups[${gi}].rules is empty`);
      for (const [ri, r] of (g.rules ?? []).entries()) {
        const where = `spec.groups[${gi}].rules[${ri}]`;
        if (!r.expr) problems.push(`${where}.expr is required`);
        if (!r.alert === !r.record) problems.push(`${where} needs exactly one of alert and record`);
        if (r.alert) {
          if (!["critical", "warning", "info"].includes(r.labels?.severity)) problems.push(`${where} (${r.alert}): labels.severity missing`);
          for (const a of ["summary", "description", "runbook"]) {
            if (!r.annotations?.[a]) problems.push(`${where} (${r.alert}): annotations.${a} missing`);
          }
        }
      }
    }
    const names = (groups ?? []).flatMap((g) => (g.rules ?? []).map((r) => r.alert)).filter(Boolean);
    for (const a of EXPECTED_ALERTS) if (!names.includes(a)) problems.push(`alert ${a} is missing`);
  }
  return problems;
}

// The first differences between two JSON values, as paths.
function diff(a, b, where = "", out = []) {
  if (out.length >= 10 || isDeepStrictEqual(a, b)) return out;
  const isObj = (x) => x !== null && typeof x === "object";
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push(`${where || "/"}: ${a.length} items, expected ${b.length}`);
    for (let i = 0; i < Math.min(a.length, b.length); i++) diff(a[i], b[i], `${where}[${i}]`, out);
    return out;
  }
  if (isObj(a) && isObj(b) && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in a)) out.push(`${where}.${k}: missing (expected ${JSON.stringify(b[k]).slice(0, 80)})`);
      else if (!(k in b)) out.push(`${where}.${k}: unexpected (${JSON.stringify(a[k]).slice(0, 80)})`);
      else diff(a[k], b[k], `${where}.${k}`, out);
    }
    return out;
  }
  if (typeof a === "string" && typeof b === "string") {
    // Show where long strings (rule expressions, scripts) start to differ.
    let i = 0;
    while (a[i] === b[i]) i++;
    const from = Math.max(0, i - 30);
    out.push(`${where}: differs at character ${i}: ${JSON.stringify(a.slice(from, i + 50))}, expected ${JSON.stringify(b.slice(from, i + 50))}`);
    return out;
  }
  out.push(`${where || "/"}: ${JSON.stringify(a)?.slice(0, 100)}, expected ${JSON.stringify(b)?.slice(0, 100)}`);
  return out;
}

function which(cmd) {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const p = path.join(dir || ".", cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

// A PrometheusRule's groups must be the rules file's, word for word, and pass promtool's check
// and the unit tests written for the rules file.
function checkPrometheusRule(root, obj, label) {
  const rulesFile = path.join(root, "deploy/prometheus/tokend-alerts.yaml");
  const expected = readYaml(rulesFile);
  report(`${label}: spec.groups equals deploy/prometheus/tokend-alerts.yaml`, diff(obj.spec?.groups, expected.groups, "spec.groups"));
  const promtool = which("promtool");
  if (!promtool) {
    console.log(`skip ${label}: promtool not found, rules not run through promtool`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tokend-rules-"));
  try {
    fs.writeFileSync(path.join(dir, "tokend-alerts.yaml"), YAML.stringify({ groups: obj.spec?.groups ?? [] }));
    fs.copyFileSync(path.join(root, "deploy/prometheus/tokend-alerts.test.yaml"), path.join(dir, "tokend-alerts.test.yaml"));
    for (const [what, args] of [
      ["promtool check rules", ["check", "rules", "tokend-alerts.yaml"]],
      ["promtool test rules (deploy/prometheus/tokend-alerts.test.yaml)", ["test", "rules", "tokend-alerts.test.yaml"]],
    ]) {
      let problems = [];
      try {
        execFileSync(promtool, args, { cwd: dir, stdio: "pipe", encoding: "utf8" });
      } catch (e) {
        problems = `${e.stdout ?? ""}${e.stderr ?? ""}`.split("\n").filter((l) => l.trim());
      }
      report(`${label}: its rules pass ${what}`, problems);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Every check of single objects.
function checkObjects(root, docs) {
  for (const { obj, source } of docs) {
    const label = `${source}: ${id(obj)}`;
    report(`${label}: valid against the ${obj.apiVersion} ${obj.kind} schema, no unknown fields`, schemaProblems(obj));
    const policy = [...workloadProblems(obj), ...monitoringProblems(obj)];
    if (podSpecOf(obj) || ["ServiceMonitor", "PrometheusRule"].includes(obj.kind)) {
      report(`${label}: ${podSpecOf(obj) ? "security, resources, volumes, tokend flags and probes" : "required fields"}`, policy);
    }
    if (obj.kind === "PrometheusRule") checkPrometheusRule(root, obj, label);
  }
}
// The references between the objects of one deployment.
function checkReferences(docs, setLabel, moreSecrets = []) {
  report(`${setLabel}: selectors, named ports, autoscaler target, ServiceAccount, Secrets and ConfigMaps (the --policy file) refer to existing objects`,
    referenceProblems(docs.map((d) => d.obj), { externalSecrets: [...EXTERNAL_SECRETS, ...moreSecrets] }));
}

// ------------------------------------------------------------------------------- commands
// The plain manifests, by deployment: every file must belong to one so that none goes unchecked.
const PLAIN_SETS = {
  standalone: [
    "standalone/serviceaccount.yaml",
    "standalone/deployment.yaml",
    "standalone/service.yaml",
    "standalone/poddisruptionbudget.yaml",
    "standalone/horizontalpodautoscaler.yaml",
    "standalone/networkpolicy.yaml",
    "monitoring/servicemonitor-standalone.yaml",
    "monitoring/prometheusrule.yaml",
    "secret-example.yaml",
  ],
  sidecar: [
    "sidecar/deployment.yaml",
    "sidecar/metrics-service.yaml",
    "sidecar/networkpolicy.yaml",
    "monitoring/servicemonitor-sidecar.yaml",
    "monitoring/prometheusrule.yaml",
    "secret-example.yaml",
  ],
};
// Secrets the manifests use that the README has made with kubectl beforehand.
const EXTERNAL_SECRETS = ["tokend-tls"];

function listYaml(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return listYaml(p);
    return /\.ya?ml$/.test(e.name) ? [p] : [];
  });
}

function cmdPlain(root) {
  const base = path.join(root, "deploy/kubernetes");
  const files = listYaml(base).map((f) => path.relative(base, f)).sort();
  const covered = new Set(Object.values(PLAIN_SETS).flat());
  report("every file in deploy/kubernetes belongs to a deployment the test checks",
    [...files.filter((f) => !covered.has(f)).map((f) => `${f}: not in PLAIN_SETS of tests/deploy/validate.mjs`),
      ...[...covered].filter((f) => !files.includes(f)).map((f) => `${f}: listed in PLAIN_SETS but missing`)]);
  const loaded = new Map();
  for (const f of files) {
    try {
      loaded.set(f, readDocs(path.join(base, f), `deploy/kubernetes/${f}`));
      report(`deploy/kubernetes/${f}: parses as YAML (1.1, no duplicate keys)`, []);
    } catch (e) {
      report(`deploy/kubernetes/${f}: parses as YAML (1.1, no duplicate keys)`, [e.message]);
    }
  }
  checkObjects(root, [...loaded.values()].flat());
  for (const [name, set] of Object.entries(PLAIN_SETS)) {
    checkReferences(set.flatMap((f) => loaded.get(f) ?? []), `deploy/kubernetes ${name}`);
  }
  finish("deploy manifests");
}

function cmdRendered(root, name, file, externalSecrets) {
  let docs = [];
  try {
    docs = readDocs(file, name);
  } catch (e) {
    report(`${name}: parses as YAML`, [e.message]);
  }
  report(`${name}: renders at least one object`, docs.length ? [] : ["nothing rendered"]);
  checkObjects(root, docs);
  checkReferences(docs, name, externalSecrets);
  finish(name);
}

// Helm's own labels are the only difference allowed between helm's output and the plain files.
function normalize(obj) {
  const o = structuredClone(obj);
  for (const labels of [o.metadata?.labels, o.spec?.template?.metadata?.labels]) {
    if (!labels) continue;
    delete labels["helm.sh/chart"];
    delete labels["app.kubernetes.io/managed-by"];
  }
  return o;
}
function cmdCompare(name, file, kinds, plainFiles) {
  const keep = (o) => kinds === "*" || kinds.split(",").includes(o.kind);
  const rendered = readDocs(file, name).map((d) => normalize(d.obj)).filter(keep);
  const plain = plainFiles.flatMap((f) => readDocs(f)).map((d) => d.obj).filter(keep);
  const r = new Map(rendered.map((o) => [id(o), o]));
  const p = new Map(plain.map((o) => [id(o), o]));
  const problems = [];
  for (const k of p.keys()) if (!r.has(k)) problems.push(`${k}: in the plain manifests, not rendered`);
  for (const k of r.keys()) if (!p.has(k)) problems.push(`${k}: rendered, not in the plain manifests`);
  for (const [k, o] of r) if (p.has(k)) problems.push(...diff(o, p.get(k)).map((d) => `${k} ${d}`));
  report(`${name}: the same objects and fields as deploy/kubernetes/{${plainFiles.map((f) => f.replace(/^.*deploy\/kubernetes\//, "")).join(",")}}` +
    (kinds === "*" ? "" : ` (kinds ${kinds})`), problems);
  finish(name);
}

// ------------------------------------------------------------------------------- chart
function leafPaths(v, prefix, out) {
  if (v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) leafPaths(x, prefix ? `${prefix}.${k}` : k, out);
  } else out.push(prefix);
  return out;
}
// hasPath(values, "a.b"), or "a[].b" for the key b of the first item of the list a.
function hasPath(values, p) {
  let v = values;
  for (const part of p.split(".")) {
    const k = part.replace(/\[\]$/, "");
    if (v === null || typeof v !== "object" || Array.isArray(v) || !Object.hasOwn(v, k)) return false;
    v = v[k];
    if (part.endsWith("[]")) {
      if (!Array.isArray(v) || v.length === 0) return false;
      v = v[0];
    }
  }
  return true;
}
// Value paths a template reads: .Values.a.b, $.Values.a.b, and $x.b where `$x := .Values.a`;
// in template actions only (not in comments or plain text).
function templateValuePaths(template) {
  const text = [...template.matchAll(/\{\{-?([\s\S]*?)-?\}\}/g)]
    .map((m) => m[1])
    .filter((a) => !a.trim().startsWith("/*"))
    .join("\n");
  const out = new Set();
  const aliases = new Map();
  for (const m of text.matchAll(/(\$[A-Za-z0-9_]+)\s*:=\s*\$?\.Values((?:\.[A-Za-z0-9_]+)+)/g)) aliases.set(m[1], m[2].slice(1));
  for (const m of text.matchAll(/\$?\.Values((?:\.[A-Za-z0-9_]+)+)/g)) out.add(m[1].slice(1));
  for (const [alias, target] of aliases) {
    for (const m of text.matchAll(new RegExp(`\\${alias}((?:\\.[A-Za-z0-9_]+)+)`, "g"))) out.add(`${target}${m[1]}`);
  }
  return [...out];
}
function deepMerge(base, over) {
  if (over === null || typeof over !== "object" || Array.isArray(over)) return over;
  const out = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over)) {
    out[k] = base && typeof base[k] === "object" && !Array.isArray(base[k]) ? deepMerge(base[k], v) : v;
  }
  return out;
}

function cmdChart(root) {
  const chartDir = path.join(root, "helm/tokend");
  const exampleDir = path.join(root, "helm/examples/example-app");
  const chart = readYaml(path.join(chartDir, "Chart.yaml"));
  const values = readYaml(path.join(chartDir, "values.yaml"));
  const schema = JSON.parse(fs.readFileSync(path.join(chartDir, "values.schema.json"), "utf8"));
  const Ajv = require("ajv");
  const ajv = new (Ajv.default ?? Ajv)({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  const errs = (v) => (validate(v) ? [] : validate.errors.map((e) => `${e.instancePath || "/"} ${e.message}`));

  report("helm/tokend/values.yaml: valid against values.schema.json", errs(values));
  const example = readYaml(path.join(exampleDir, "values.yaml"));
  report("helm/examples/example-app/values.yaml: its tokend values are valid against the chart's schema",
    errs(deepMerge(values, example.tokend ?? {})));
  // The schema must reject what it is there to reject.
  const bad = {
    "a misspelt key (standalone.tsl)": deepMerge(values, { standalone: { tsl: { secretName: "x" } } }),
    "a port out of range": deepMerge(values, { metrics: { port: 70000 } }),
    "a socket mode tokend refuses": deepMerge(values, { config: { socketMode: "0666" } }),
    "a credential name that is no DNS label": { ...values, credentials: [{ name: "Defender_1" }] },
    "create: true without the secret's values": { ...values, credentials: [{ name: "defender", create: true }] },
    "a duration without unit": deepMerge(values, { config: { shutdownGrace: "10" } }),
    "standalone.tls.allowedClients without clientCA": deepMerge(values, { standalone: { tls: { allowedClients: ["dns:reader.apps.svc"] } } }),
    "an allowed client that is not uri: or dns:": deepMerge(values, { standalone: { tls: { clientCA: true, allowedClients: ["reader.apps.svc"] } } }),
    "a TLS refresh interval under 1s": deepMerge(values, { standalone: { tls: { refreshInterval: "500ms" } } }),
    "a policy without rules": { ...values, policy: { rule: [] } },
    "a policy rule with neither scopes nor resources": { ...values, policy: { rules: [{ name: "r", callers: ["unix"], credentials: ["*"], tenants: ["*"] }] } },
    "a policy rule with a uid: caller": { ...values, policy: { rules: [{ name: "r", callers: ["uid:1000"], credentials: ["*"], tenants: ["*"], scopes: ["*"] }] } },
    "a policy rule with a misspelt key": { ...values, policy: { rules: [{ name: "r", callers: ["unix"], credentials: ["*"], tenants: ["*"], scope: ["*"] }] } },
  };
  report("values.schema.json rejects bad values", Object.entries(bad).filter(([, v]) => errs(v).length === 0).map(([k]) => `accepted ${k}`));
  // ... and accepts the good ones: mTLS with allowed clients, a refresh interval, the policy of
  // docs/SECURITY.md.
  const good = deepMerge(values, {
    standalone: { tls: { clientCA: true, allowedClients: ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc"], refreshInterval: "1m30s" } },
    policy: {
      rules: [
        { name: "defender-reader", callers: ["uri:spiffe://cluster.local/ns/sec/sa/reader", "dns:reader.sec.svc"], credentials: ["mde"],
          tenants: ["11111111-1111-1111-1111-111111111111"], scopes: ["https://api.securitycenter.microsoft.com/.default"],
          resources: ["https://api.securitycenter.microsoft.com"] },
        { name: "sidecar-app", callers: ["unix"], credentials: ["*"], tenants: ["*"], scopes: ["*"], resources: ["*"] },
      ],
    },
  });
  report("values.schema.json accepts mTLS allowed clients, a refresh interval and the policy of docs/SECURITY.md", errs(good));

  // Every value a template reads exists in values.yaml (a typo renders as empty, silently).
  const problems = [];
  for (const dir of [path.join(chartDir, "templates"), path.join(exampleDir, "templates")]) {
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      const own = dir.startsWith(exampleDir) ? example : values;
      for (const p of templateValuePaths(text)) {
        const ok = p.startsWith("tokend.") && dir.startsWith(exampleDir) ? hasPath(values, p.slice(7)) : hasPath(own, p);
        if (!ok) problems.push(`${path.relative(root, path.join(dir, f))}: .Values.${p} is not in values.yaml`);
      }
    }
  }
  report("every .Values path the templates read is in values.yaml", problems);

  // The README's values table documents every value (or an ancestor of it), and nothing else.
  const readme = fs.readFileSync(path.join(chartDir, "README.md"), "utf8").split(/^## Values$/m)[1]?.split(/^## /m)[0] ?? "";
  const documented = [...readme.matchAll(/^\| `([A-Za-z0-9_.[\]]+)` \|/gm)].map((m) => m[1]);
  const leaves = leafPaths(values, "", []);
  report("helm/tokend/README.md: the values table covers every value in values.yaml", [
    ...leaves.filter((l) => !documented.some((d) => l === d || l.startsWith(`${d}.`))).map((l) => `${l}: not in the table`),
    ...documented.filter((d) => !hasPath(values, d)).map((d) => `${d}: in the table, not in values.yaml`),
  ]);

  // One version everywhere: CMake's project(), the chart's appVersion, the image tags.
  const cmake = /project\(tokend VERSION ([0-9.]+)/.exec(fs.readFileSync(path.join(root, "CMakeLists.txt"), "utf8"))?.[1];
  const vp = [];
  if (String(chart.appVersion) !== cmake) vp.push(`helm/tokend/Chart.yaml appVersion ${chart.appVersion}, CMakeLists.txt project VERSION ${cmake}`);
  if (values.image.tag !== cmake) vp.push(`helm/tokend/values.yaml image.tag ${values.image.tag}, expected ${cmake}`);
  if (example.image.tag !== cmake) vp.push(`helm/examples/example-app/values.yaml image.tag ${example.image.tag}, expected ${cmake}`);
  const dockerfile = fs.readFileSync(path.join(root, "deploy/Dockerfile"), "utf8");
  const dv = /^ARG VERSION=(\S+)/m.exec(dockerfile)?.[1];
  if (dv !== cmake) vp.push(`deploy/Dockerfile ARG VERSION=${dv}, expected ${cmake}`);
  for (const f of listYaml(path.join(root, "deploy/kubernetes"))) {
    for (const { obj, source } of readDocs(f, path.relative(root, f))) {
      const pod = podSpecOf(obj);
      for (const c of pod ? containersOf(pod) : []) {
        const tag = /^(?:.*\/)?tokend:(.+)$/.exec(c.image ?? "")?.[1];
        if (tag !== undefined && tag !== cmake) vp.push(`${source}: container ${c.name} image ${c.image}, expected tag ${cmake}`);
      }
      const v = obj.metadata?.labels?.["app.kubernetes.io/version"];
      if (v !== undefined && v !== cmake) vp.push(`${source}: ${id(obj)} label app.kubernetes.io/version ${v}, expected ${cmake}`);
    }
  }
  report(`one version (${cmake}) in CMakeLists.txt, Chart.yaml, values, Dockerfile and manifests`, vp);

  // The chart carries its own copy of the rules (helm cannot read files outside the chart).
  const a = fs.readFileSync(path.join(root, "deploy/prometheus/tokend-alerts.yaml"), "utf8");
  const b = fs.readFileSync(path.join(chartDir, "files/tokend-alerts.yaml"), "utf8");
  report("helm/tokend/files/tokend-alerts.yaml is a copy of deploy/prometheus/tokend-alerts.yaml",
    a === b ? [] : ["they differ: cp deploy/prometheus/tokend-alerts.yaml helm/tokend/files/"]);
  finish("helm chart");
}

// ------------------------------------------------------------------------------- main
const [cmd, ...args] = process.argv.slice(2);
const usage = () => {
  console.error("usage: validate.mjs plain ROOT | rendered ROOT NAME FILE [SECRET...] | compare NAME FILE KINDS PLAIN... | chart ROOT");
  process.exit(2);
};
try {
  if (cmd === "plain" && args.length === 1) cmdPlain(args[0]);
  else if (cmd === "rendered" && args.length >= 3) cmdRendered(args[0], args[1], args[2], args.slice(3));
  else if (cmd === "compare" && args.length >= 4) cmdCompare(args[0], args[1], args[2], args.slice(3));
  else if (cmd === "chart" && args.length === 1) cmdChart(args[0]);
  else usage();
} catch (e) {
  report(`${cmd}: ran to the end`, [e.stack ?? String(e)]);
  finish(cmd);
}

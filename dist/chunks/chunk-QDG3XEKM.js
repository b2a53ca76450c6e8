import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  INPUTS,
  RunStopped,
  UserError,
  __toESM,
  assertDns1123,
  assertRouteInput,
  parseCanaryMatch,
  parseCanaryMatchWeight,
  parseCustomMetrics,
  parseDependents,
  parseDuration,
  parseMirrorPercent,
  parsePrometheusUrl,
  parseWeights,
  require_dist,
  seconds
} from "./chunk-SEGWWIB7.js";

// src/exit-guard.ts
var CANCEL_GRACE_MS = 4500;
var RESTORE_BUDGET_MS = 4e3;
var SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
var ExitGuard = class {
  #controller;
  #warn;
  #graceMs;
  #restoreBudgetMs;
  #host;
  #timers = [];
  #run;
  #stopping = false;
  #done = false;
  #emergency;
  constructor(options) {
    this.#controller = options.controller;
    this.#warn = options.warn;
    this.#graceMs = options.graceMs ?? CANCEL_GRACE_MS;
    this.#restoreBudgetMs = options.restoreBudgetMs ?? RESTORE_BUDGET_MS;
    this.#host = options.host ?? process;
  }
  /** Listens for the signals and the process-level failures; returns the guard. */
  install() {
    for (const name of SIGNALS) this.#host.on(name, () => this.#signal(name));
    this.#host.on("uncaughtException", (error) => this.#internal(error));
    this.#host.on("unhandledRejection", (reason) => this.#internal(reason));
    this.#host.on("beforeExit", () => this.#stalled());
    return this;
  }
  /** From now on the guard can restore `run`; starts the step's deadline. */
  protect(run) {
    this.#run = run;
    const { deadline } = run;
    if (deadline === void 0) return;
    this.#timer(() => this.#deadline(deadline), deadline.plannedMs + deadline.graceMs);
  }
  /**
   * The run's own flow ended with `code`. Waits for a restore of the guard's that is under way
   * (it ends the process itself); returns the exit code, never 0 after the run was told to stop.
   */
  async finish(code) {
    this.#done = true;
    for (const timer of this.#timers) clearTimeout(timer);
    if (this.#emergency) await this.#emergency;
    return this.#stopping && code === 0 ? 1 : code;
  }
  #signal(name) {
    if (this.#done || this.#stopping) return;
    const restoring = this.#canRestore();
    this.#say(
      restoring ? `Received ${name}: restoring the original route before exiting.` : `Received ${name}: stopping before anything more is written.`
    );
    this.#stop();
  }
  #internal(error) {
    const message = this.#redact(
      error instanceof Error ? error.message || error.name : String(error)
    );
    if (this.#done || this.#stopping) {
      this.#say(`Internal error while stopping: ${message}`);
      return;
    }
    const restoring = this.#canRestore();
    this.#say(
      `Internal error: ${message}. ${restoring ? "Restoring the original route before exiting." : "Exiting."}`
    );
    this.#stop(new RunStopped(`The run stopped on an internal error (${message})`));
  }
  #deadline(deadline) {
    if (this.#done || this.#stopping) return;
    const hanging = this.#run?.longestCall();
    const message = `The step ran past its deadline of ${seconds(deadline.plannedMs + deadline.graceMs)} (${seconds(deadline.plannedMs)} of watches planned, ${seconds(deadline.graceMs)} of grace); ` + (hanging ? `the call still running: ${hanging}` : "no Kubernetes or Prometheus call was running");
    this.#say(`${message}. Restoring the original route.`);
    this.#stop(new RunStopped(message));
  }
  /** The event loop is empty and the run never finished: nothing will ever finish it. */
  #stalled() {
    if (this.#done || this.#emergency) return;
    this.#stopping = true;
    this.#emergencyRestore("The run stopped making progress");
  }
  #stop(reason) {
    this.#stopping = true;
    this.#controller.abort(reason);
    this.#timer(
      () => this.#emergencyRestore(`The run did not finish within ${seconds(this.#graceMs)}`),
      this.#graceMs
    );
  }
  #emergencyRestore(why) {
    if (this.#emergency) return;
    this.#emergency = (async () => {
      const run = this.#run;
      if (run?.restore && run.wrote()) {
        this.#say(`${why}: restoring the original route now.`);
        try {
          this.#say(await within(run.restore(), this.#restoreBudgetMs));
        } catch (error) {
          this.#say(
            `The restore failed (${error instanceof Error ? error.message : String(error)}); run the rollback command.`
          );
        }
      } else {
        this.#say(`${why}; exiting.`);
      }
      this.#host.exit(1);
    })();
  }
  #canRestore() {
    return this.#run?.restore !== void 0;
  }
  #redact(text) {
    return this.#run?.redact?.(text) ?? text;
  }
  #say(line) {
    try {
      this.#warn(this.#redact(line));
    } catch {
    }
  }
  #timer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    this.#timers.push(timer);
  }
};
function within(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`it did not finish within ${seconds(ms)}`)),
      ms
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    );
  });
}

// src/sink.ts
function safeWriter(stream) {
  let closed = false;
  const close = () => {
    closed = true;
  };
  protectStream(stream, close);
  return (text) => {
    if (closed || stream.destroyed || !stream.writable) return;
    try {
      stream.write(text);
    } catch {
      close();
    }
  };
}
var protectedStreams = /* @__PURE__ */ new WeakSet();
function protectStream(stream, onError) {
  if (onError) stream.on("error", onError);
  if (protectedStreams.has(stream)) return;
  protectedStreams.add(stream);
  stream.on("error", () => void 0);
}

// src/config/secrets.ts
var import_yaml = __toESM(require_dist(), 1);
import { readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
var MIN_SECRET_LENGTH = 4;
var CREDENTIAL_KEY = /token|password|secret|key-data/i;
var TOKEN_FILE_KEY = /^token-?file$/i;
var CREDENTIAL_NAME = /token|passw|pwd|secret|key|credential|auth/i;
var SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";
var Secrets = class {
  #values = [];
  #listeners = [];
  constructor(values = []) {
    this.add(values);
  }
  /** Adds secrets (short values are ignored; see {@link cleanSecrets}). */
  add(values) {
    const fresh = cleanSecrets([...values]).filter((value) => !this.#values.includes(value));
    if (fresh.length === 0) return;
    this.#values = cleanSecrets([...this.#values, ...fresh]);
    for (const value of fresh) for (const listener of this.#listeners) listener(value);
  }
  /** Calls `listener` with every secret known now and every one added later. */
  onAdd(listener) {
    this.#listeners.push(listener);
    for (const value of this.#values) listener(value);
  }
  /** Longest first. */
  get values() {
    return this.#values;
  }
  /** The text with every secret replaced by `***`. */
  redact(text) {
    return redact(text, this.#values);
  }
  /** A copy of `value` with every string in it (keys too) redacted. */
  redactDeep(value) {
    return redactValue(value, this.#values);
  }
};
function inputSecrets(inputs) {
  const values = [];
  for (const input of INPUTS.filter((i) => i.secret)) {
    const value = inputs[input.name];
    if (!value) continue;
    if (input.name === "kubeconfig") continue;
    if (input.name === "prometheus-headers") values.push(...headerSecrets(value));
    else values.push(...value.split(/\r?\n/).map((line) => line.trim()));
  }
  return cleanSecrets(values);
}
function headerSecrets(value) {
  return value.split(/\r?\n/).flatMap((line) => {
    const headerValue = line.replace(/^[^:]*:/, "").trim();
    return [headerValue, headerValue.replace(/^[A-Za-z]+\s+/, "")];
  });
}
function isBase64Kubeconfig(text) {
  const trimmed = text.trim();
  return /^[A-Za-z0-9+/=\s]+$/.test(trimmed) && !trimmed.includes(":");
}
function kubeconfigSecrets(content, env) {
  const values = [];
  const trimmed = content?.trim();
  if (trimmed !== void 0 && isBase64Kubeconfig(trimmed)) {
    const compact = trimmed.replace(/\s+/g, "");
    values.push(trimmed, compact);
    collectCredentials(parseQuietly(Buffer.from(compact, "base64").toString("utf8")), values);
  } else if (trimmed !== void 0) collectCredentials(parseQuietly(trimmed), values);
  else {
    for (const path of defaultKubeconfigPaths(env))
      collectCredentials(parseQuietly(readOrEmpty(path)), values);
    values.push(readOrEmpty(SERVICE_ACCOUNT_TOKEN).trim());
  }
  return cleanSecrets(values);
}
function redact(text, secrets) {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}
function cleanSecrets(values) {
  const all = /* @__PURE__ */ new Set();
  for (const value of values) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    all.add(value);
    all.add(JSON.stringify(value).slice(1, -1));
    all.add(encodeURIComponent(value));
  }
  return [...all].sort((a, b) => b.length - a.length);
}
function redactValue(value, secrets) {
  if (typeof value === "string") return redact(value, secrets);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets));
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [redact(key, secrets), redactValue(item, secrets)])
  );
}
function defaultKubeconfigPaths(env) {
  if (env.KUBECONFIG) return env.KUBECONFIG.split(delimiter).filter(Boolean);
  return env.HOME ? [join(env.HOME, ".kube", "config")] : [];
}
function readOrEmpty(path) {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
function parseQuietly(text) {
  try {
    return (0, import_yaml.parse)(text, { logLevel: "silent", merge: true });
  } catch {
    return void 0;
  }
}
function collectCredentials(node, into) {
  if (Array.isArray(node)) {
    for (const item of node) collectCredentials(item, into);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === "string") {
      if (TOKEN_FILE_KEY.test(key)) into.push(readOrEmpty(value).trim());
      else if (CREDENTIAL_KEY.test(key)) into.push(value.trim());
      else into.push(...urlCredentials(value));
    } else if (key === "exec" && typeof value === "object" && value !== null) {
      into.push(...execCredentials(value));
      collectCredentials(value, into);
    } else collectCredentials(value, into);
  }
}
function urlCredentials(text) {
  const match = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@\s]+)@/i.exec(text.trim());
  if (!match) return [];
  const userinfo = match[1];
  const colon = userinfo.indexOf(":");
  if (colon < 0) return [userinfo, safeDecode(userinfo)];
  const password = userinfo.slice(colon + 1);
  return [userinfo, password, safeDecode(password)];
}
function execCredentials(exec) {
  const found = [];
  const { env, args } = exec;
  if (Array.isArray(env)) {
    for (const entry of env) {
      if (typeof entry?.value !== "string") continue;
      const name = typeof entry.name === "string" ? entry.name : "";
      if (CREDENTIAL_NAME.test(name) || looksLikeCredential(entry.value)) found.push(entry.value);
    }
  }
  if (Array.isArray(args)) {
    const list = args.filter((arg) => typeof arg === "string");
    list.forEach((arg, i) => {
      const joined = /^--?([^=]+)=(.*)$/s.exec(arg);
      if (joined) {
        if (CREDENTIAL_NAME.test(joined[1]) || looksLikeCredential(joined[2]))
          found.push(joined[2]);
      } else if (/^--?[A-Za-z]/.test(arg)) {
        const next = list[i + 1];
        if (CREDENTIAL_NAME.test(arg) && next !== void 0 && !next.startsWith("-"))
          found.push(next);
      } else if (looksLikeCredential(arg)) found.push(arg);
    });
  }
  return found;
}
function looksLikeCredential(value) {
  if (value.length < 16 || !/^[\x21-\x7e]+$/.test(value)) return false;
  if (/^[0-9a-f]{32,}$/i.test(value)) return true;
  return /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);
}
function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// src/config/settings.ts
var import_yaml2 = __toESM(require_dist(), 1);

// src/config/ignored-inputs.ts
function ignoredInputs(command, given) {
  const isSet = (name) => {
    const value = given(name);
    const spec = INPUTS.find((input) => input.name === name);
    return value !== void 0 && value !== spec?.default;
  };
  const notRead = INPUTS.filter(
    (input) => input.commands !== void 0 && !input.commands.includes(command)
  ).filter((input) => isSet(input.name)).map((input) => input.name);
  const sentences = [];
  if (notRead.length > 0) {
    const names = notRead.map((name) => `"${name}"`).join(", ");
    const which = notRead.length === 1 ? "Input" : "Inputs";
    const verb = notRead.length === 1 ? "has" : "have";
    sentences.push(`${which} ${names} ${verb} no effect for command "${command}"; ignored.`);
  }
  for (const input of INPUTS) {
    if (input.needs === void 0 || notRead.includes(input.name)) continue;
    if (isSet(input.name) && !isSet(input.needs)) {
      sentences.push(
        `Input "${input.name}" has no effect without input "${input.needs}"; ignored.`
      );
    }
  }
  return sentences;
}

// src/config/settings.ts
var MAX_DURATION_MS = 6 * 36e5;
var MAX_ALPHA = 0.5;
var MAX_ERROR_RATIO = 1e3;
function parseSettings(read) {
  const raw = (name) => {
    const value = read(name);
    return value === void 0 || value.trim() === "" ? void 0 : value.trim();
  };
  const withDefault = (name) => raw(name) ?? defaultOf(name);
  const yaml = (name) => raw(name) === void 0 ? void 0 : read(name);
  const command = oneOf("command", withDefault("command"), [
    "step",
    "promote",
    "rollback",
    "status"
  ]);
  const virtualServices = parseNameList("virtual-service", raw("virtual-service"));
  if (virtualServices.length === 0)
    throw new UserError(
      'Input "virtual-service" is required: the name of the VirtualService to shift.'
    );
  const settings = {
    command,
    kubeconfig: decodeKubeconfig(read("kubeconfig")),
    context: raw("context"),
    namespace: optionalName("namespace", raw("namespace"), "label"),
    virtualService: virtualServices[0],
    virtualServices,
    route: optional(raw("route"), (value) => assertRouteInput('Input "route"', value)),
    host: raw("host"),
    destinationRule: optionalName("destination-rule", raw("destination-rule"), "subdomain"),
    stableSubset: optionalName("stable-subset", raw("stable-subset"), "label"),
    canarySubset: optionalName("canary-subset", raw("canary-subset"), "label"),
    stableHost: optionalName("stable-host", raw("stable-host"), "subdomain"),
    canaryHost: optionalName("canary-host", raw("canary-host"), "subdomain"),
    canaryMatch: optional(yaml("canary-match"), parseCanaryMatch),
    canaryMatchWeight: parseCanaryMatchWeight(withDefault("canary-match-weight")),
    mirrorPercent: optional(raw("mirror-percent"), parseMirrorPercent),
    dependents: optional(yaml("dependents"), parseDependents) ?? [],
    weights: [],
    durationMs: parseDuration("duration", withDefault("duration"), MAX_DURATION_MS),
    intervalMs: parseDuration("interval", withDefault("interval"), MAX_DURATION_MS),
    prometheus: {
      url: withDefault("prometheus-url"),
      headers: parseHeaders(raw("prometheus-headers")),
      token: raw("prometheus-token")
    },
    minSuccessRate: number("min-success-rate", withDefault("min-success-rate"), 0, 100),
    maxLatencyMs: optional(raw("max-latency"), (v) => number("max-latency", v, 0, 36e5, true)),
    latencyPercentile: number("latency-percentile", withDefault("latency-percentile"), 1, 99.99),
    minRequests: integer("min-requests", withDefault("min-requests"), 0),
    failureLimit: integer("failure-limit", withDefault("failure-limit"), 0),
    analysis: oneOf("analysis", withDefault("analysis"), ["sequential", "threshold"]),
    alpha: number("alpha", withDefault("alpha"), 0, MAX_ALPHA, true),
    maxErrorRatio: number("max-error-ratio", withDefault("max-error-ratio"), 1, MAX_ERROR_RATIO),
    metrics: optional(raw("metrics"), parseCustomMetrics) ?? [],
    onNoData: oneOf("on-no-data", withDefault("on-no-data"), ["fail", "pass"]),
    cleanup: boolean("cleanup", withDefault("cleanup")),
    dryRun: boolean("dry-run", withDefault("dry-run")),
    githubToken: raw("github-token"),
    ignoredInputs: ignoredInputs(command, raw)
  };
  parsePrometheusUrl(settings.prometheus.url);
  if (settings.intervalMs < 1e3) {
    throw new UserError(`Input "interval" must be at least 1s; got "${withDefault("interval")}".`);
  }
  requireForCommand(settings, raw("weight"));
  checkWatch(settings, withDefault("duration"), withDefault("interval"));
  return settings;
}
function checkWatch(settings, duration, interval) {
  if (settings.command !== "step" || settings.durationMs === 0) return;
  if (settings.intervalMs >= settings.durationMs) {
    throw new UserError(
      `Input "interval" (${interval}) must be shorter than input "duration" (${duration}): the watch would end before its first check and judge nothing. Set a shorter interval or a longer duration (duration 0 skips the watch).`
    );
  }
}
function requireForCommand(settings, weight) {
  const { command } = settings;
  checkHosts(settings);
  if ((command === "step" || command === "promote") && settings.stableHost === void 0) {
    for (const name of ["stable-subset", "canary-subset"]) {
      const value = name === "stable-subset" ? settings.stableSubset : settings.canarySubset;
      if (!value) throw new UserError(`Input "${name}" is required for command "${command}".`);
    }
    if (settings.stableSubset === settings.canarySubset) {
      throw new UserError(
        `Inputs "stable-subset" and "canary-subset" must differ; both are "${settings.stableSubset}".`
      );
    }
  }
  if (command === "step") {
    if (weight === void 0) {
      throw new UserError(
        'Input "weight" is required for command "step": a percent 0-100 or a list like 10,25,50.'
      );
    }
    settings.weights = parseWeights(weight);
  }
}
function checkHosts(settings) {
  const { stableHost, canaryHost } = settings;
  if (stableHost === void 0 && canaryHost === void 0) return;
  if (stableHost === void 0 || canaryHost === void 0) {
    const missing = stableHost === void 0 ? "stable-host" : "canary-host";
    throw new UserError(
      `Input "${missing}" is required with "${missing === "stable-host" ? "canary-host" : "stable-host"}": a host canary names both Services.`
    );
  }
  if (stableHost === canaryHost) {
    throw new UserError(
      `Inputs "stable-host" and "canary-host" must differ; both are "${stableHost}".`
    );
  }
  if (settings.stableSubset !== void 0 || settings.canarySubset !== void 0) {
    throw new UserError(
      'Inputs "stable-host"/"canary-host" and "stable-subset"/"canary-subset" exclude each other: a canary is two Services or two subsets of one, not both.'
    );
  }
}
function parseNameList(input, text) {
  const names = (text ?? "").split(/[,\n]/).map((name) => name.trim()).filter((name) => name !== "");
  for (const name of names) assertDns1123(input, name, "subdomain");
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== void 0) {
    throw new UserError(`Input "${input}" lists "${twice}" twice.`);
  }
  return names;
}
function defaultOf(name) {
  const spec = INPUTS.find((input) => input.name === name);
  if (spec?.default === void 0) throw new Error(`input ${name} has no default`);
  return spec.default;
}
function optional(value, parse) {
  return value === void 0 ? void 0 : parse(value);
}
function optionalName(input, value, kind) {
  if (value !== void 0) assertDns1123(input, value, kind);
  return value;
}
function oneOf(input, value, options) {
  if (options.includes(value)) return value;
  throw new UserError(`Input "${input}" must be one of ${options.join(", ")}; got "${value}".`);
}
function number(input, text, min, max, exclusiveMin = false) {
  const value = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  const tooLow = exclusiveMin ? value <= min : value < min;
  if (Number.isNaN(value) || tooLow || value > max) {
    const low = exclusiveMin ? `more than ${min}` : `${min}`;
    throw new UserError(`Input "${input}" must be a number from ${low} to ${max}; got "${text}".`);
  }
  return value;
}
function integer(input, text, min) {
  if (!/^\d+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UserError(`Input "${input}" must be a whole number, ${min} or more; got "${text}".`);
  }
  return Number(text);
}
function boolean(input, text) {
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  throw new UserError(`Input "${input}" must be true or false; got "${text}".`);
}
function parseHeaders(text) {
  const headers = {};
  if (text === void 0) return headers;
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    if (line.trim() === "") continue;
    const match = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*:\s*(.*?)\s*$/.exec(line);
    if (!match) {
      throw new UserError(
        `Input "prometheus-headers" line ${index + 1} must look like "Name: value" (the value is not shown, it may be secret).`
      );
    }
    headers[match[1]] = match[2];
  }
  return headers;
}
function decodeKubeconfig(text) {
  if (text === void 0 || text.trim() === "") return void 0;
  const trimmed = text.trim();
  if (isBase64Kubeconfig(trimmed)) {
    const decoded = Buffer.from(trimmed.replace(/\s+/g, ""), "base64").toString("utf8");
    if (looksLikeKubeconfig(decoded)) return decoded;
  }
  if (looksLikeKubeconfig(trimmed)) return trimmed;
  throw new UserError(
    'Input "kubeconfig" must be a kubeconfig (YAML with clusters, users and contexts), plain or base64; it did not parse as either (the content is not shown, it is secret).'
  );
}
function looksLikeKubeconfig(text) {
  try {
    const doc = (0, import_yaml2.parse)(text, { logLevel: "silent" });
    return typeof doc === "object" && doc !== null && ("clusters" in doc || "contexts" in doc);
  } catch {
    return false;
  }
}

export {
  Secrets,
  inputSecrets,
  kubeconfigSecrets,
  parseSettings,
  ExitGuard,
  safeWriter,
  protectStream
};

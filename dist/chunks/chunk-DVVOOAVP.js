import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  INPUTS,
  UserError,
  __toESM,
  assertDns1123,
  parseCanaryMatch,
  parseCanaryMatchWeight,
  parseCustomMetrics,
  parseDependents,
  parseMirrorPercent,
  parsePrometheusUrl,
  parseWeights,
  require_dist
} from "./chunk-6P75CZHU.js";

// src/config/settings.ts
var import_yaml = __toESM(require_dist(), 1);

// src/config/duration.ts
var UNIT_MS = { ms: 1, s: 1e3, m: 6e4, h: 36e5 };
function parseDuration(input, text, maxMs) {
  const value = text.trim();
  if (value === "0") return 0;
  const form = /^(?:\d+(?:ms|h|m|s))+$/;
  if (!form.test(value)) {
    throw new UserError(
      `Input "${input}" must be a duration such as 90s, 5m or 1h30m (units h, m, s, ms), or 0; got "${text}".`
    );
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+)(ms|h|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  if (total > maxMs) {
    throw new UserError(
      `Input "${input}" is ${text}, more than the ${formatLimit(maxMs)} a pipeline job can wait.`
    );
  }
  return total;
}
function formatLimit(ms) {
  return ms % 36e5 === 0 ? `${ms / 36e5}h` : `${ms / 1e3}s`;
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
    route: raw("route"),
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
    githubToken: raw("github-token")
  };
  parsePrometheusUrl(settings.prometheus.url);
  if (settings.intervalMs < 1e3) {
    throw new UserError(`Input "interval" must be at least 1s; got "${withDefault("interval")}".`);
  }
  requireForCommand(settings, raw("weight"));
  return settings;
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
  if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed) && !trimmed.includes(":")) {
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
    const doc = (0, import_yaml.parse)(text);
    return typeof doc === "object" && doc !== null && ("clusters" in doc || "contexts" in doc);
  } catch {
    return false;
  }
}

export {
  parseSettings
};

import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  INPUTS,
  UserError,
  createCluster,
  createPrometheusClient,
  outputsOf,
  parseSettings,
  runCommand,
  succeeded,
  systemClock,
  writeJsonReport
} from "./chunk-H7MIVSDW.js";

// src/cli/main.ts
import { existsSync, readFileSync } from "node:fs";
import { writeFile, rename } from "node:fs/promises";
import { hostname } from "node:os";

// src/cli/args.ts
var UsageError = class extends Error {
  name = "UsageError";
};
var CLI_FLAGS = {
  output: "text or json: json prints one JSON report on stdout and logs on stderr",
  dotenv: "write the outputs to this file as NAME=value lines (a GitLab dotenv report)",
  help: "show help",
  version: "show the version"
};
var COMMANDS = ["step", "promote", "rollback", "status"];
var INPUT_NAMES = new Set(INPUTS.map((i) => i.name));
var BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.type === "boolean").map((i) => i.name));
function envName(input) {
  return `ISTIO_CANARY_${input.toUpperCase().replace(/-/g, "_")}`;
}
function parseArgs(argv, env) {
  const inputs = {};
  for (const name of INPUT_NAMES) {
    const value = env[envName(name)];
    if (value !== void 0 && value !== "") inputs[name] = value;
  }
  const parsed = { inputs, output: "text", help: false, version: false };
  const flags = {};
  let command;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") parsed.help = true;
    else if (arg === "--version" || arg === "-v") parsed.version = true;
    else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!INPUT_NAMES.has(name) && !(name in CLI_FLAGS)) throw new UsageError(unknownFlag(name));
      let value;
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (BOOLEAN_INPUTS.has(name) && !isBooleanWord(argv[i + 1])) value = "true";
      else {
        const next = argv[i + 1];
        if (next === void 0 || next.startsWith("--") && next.length > 2) {
          throw new UsageError(
            `Flag --${name} needs a value: --${name} <value> or --${name}=<value>.`
          );
        }
        value = next;
        i++;
      }
      if (name in flags) throw new UsageError(`Flag --${name} is given twice.`);
      flags[name] = value;
    } else if (command === void 0 && !arg.startsWith("-")) {
      if (!COMMANDS.includes(arg)) {
        throw new UsageError(`Unknown command "${arg}"; the commands are ${COMMANDS.join(", ")}.`);
      }
      command = arg;
    } else {
      throw new UsageError(`Unexpected argument "${arg}"; flags take the form --name value.`);
    }
  }
  for (const [name, value] of Object.entries(flags)) {
    if (name === "output") parsed.output = outputMode(value);
    else if (name === "dotenv") parsed.dotenv = value;
    else inputs[name] = value;
  }
  if (command !== void 0) {
    if (flags.command !== void 0 && flags.command !== command) {
      throw new UsageError(
        `The command is given twice: "${command}" and --command ${flags.command}.`
      );
    }
    inputs.command = command;
  }
  return parsed;
}
function isBooleanWord(value) {
  return value !== void 0 && /^(true|false|True|False|TRUE|FALSE)$/.test(value);
}
function outputMode(value) {
  if (value === "text" || value === "json") return value;
  throw new UsageError(`Flag --output must be text or json; got "${value}".`);
}
function unknownFlag(name) {
  const all = [...INPUT_NAMES, ...Object.keys(CLI_FLAGS)];
  const close = all.filter((candidate) => editDistance(candidate, name) <= 2);
  const hint = close.length > 0 ? ` Did you mean --${close[0]}?` : " See --help for the flags.";
  return `Unknown flag --${name}.${hint}`;
}
function editDistance(a, b) {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length];
}

// src/cli/help.ts
var COMMAND_HELP = {
  step: {
    summary: "Set the canary weight(s) of one stage on the VirtualService, watch Prometheus for `duration` after each, and pass; on a breach restore the original route and exit 1.",
    needs: ["virtual-service", "stable-subset", "canary-subset", "weight"]
  },
  promote: {
    summary: "Send all traffic of the route to the canary subset and remove the rollout state.",
    needs: ["virtual-service", "stable-subset", "canary-subset"]
  },
  rollback: {
    summary: "Restore the saved original route byte for byte and remove every trace of the rollout; a clean no-op when none is in progress.",
    needs: ["virtual-service"]
  },
  status: {
    summary: "Report the rollout state of the VirtualService. Writes nothing.",
    needs: ["virtual-service"]
  }
};
function helpText(version, command) {
  const lines = [];
  if (command && COMMAND_HELP[command]) {
    const { summary, needs } = COMMAND_HELP[command];
    lines.push(`istio-canary ${command} [--flag value ...]`, "", wrap(summary, 0), "");
    lines.push(`Needs: ${needs.map((n) => `--${n}`).join(", ")}.`, "");
  } else {
    lines.push(`istio-canary ${version}: staged Istio canary rollouts from CI.`, "");
    lines.push("Usage: istio-canary <command> [--flag value ...]", "", "Commands:");
    for (const [name, { summary }] of Object.entries(COMMAND_HELP))
      lines.push(`  ${name.padEnd(9)}${wrap(summary, 11).trimStart()}`);
    lines.push("");
  }
  lines.push("Flags (each also read from the environment variable shown; a flag wins):");
  for (const input of INPUTS) {
    if (input.name === "command") continue;
    const def = input.default !== void 0 ? ` [default: ${input.default}]` : input.defaultNote ? ` [default: ${input.defaultNote}]` : "";
    lines.push(
      `  --${input.name}  (${envName(input.name)})`,
      wrap(`${input.description}${def}`, 6)
    );
  }
  lines.push("", "Tool flags:");
  for (const [name, text] of Object.entries(CLI_FLAGS)) lines.push(`  --${name.padEnd(9)}${text}`);
  lines.push(
    "",
    "Exit codes: 0 success (passed, promoted, rolled back on request, no-op), 1 rolled back or failed, 2 usage error."
  );
  return `${lines.join("\n")}
`;
}
function wrap(text, indent, width = 100) {
  const pad = " ".repeat(indent);
  const out = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && pad.length + line.length + 1 + word.length > width) {
      out.push(pad + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(pad + line);
  return out.join("\n");
}

// src/cli/logger.ts
function terminalLogger(write, secrets) {
  const line = (text) => write(`${redact(text, secrets)}
`);
  return {
    info: line,
    warn: (message) => line(`warning: ${message}`),
    error: (message) => line(`error: ${message}`),
    debug: (message) => {
      if (process.env.ISTIO_CANARY_DEBUG) line(`debug: ${message}`);
    },
    async group(title, fn) {
      line(`== ${title}`);
      return fn();
    }
  };
}
function redact(text, secrets) {
  return secrets.reduce((out, secret) => out.split(secret).join("***"), text);
}

// src/cli/main.ts
var EXIT_OK = 0;
var EXIT_FAILED = 1;
var EXIT_USAGE = 2;
async function runCli(argv, io) {
  let args;
  let settings;
  try {
    args = parseArgs(argv, io.env);
    if (args.version) {
      io.stdout(`${io.version}
`);
      return EXIT_OK;
    }
    if (args.help) {
      io.stdout(
        helpText(
          io.version,
          argv.find((a) => !a.startsWith("-"))
        )
      );
      return EXIT_OK;
    }
    settings = parseSettings(
      (name) => name === "kubeconfig" ? kubeconfigInput(args.inputs.kubeconfig) : args.inputs[name]
    );
  } catch (error) {
    if (error instanceof UsageError || error instanceof UserError) {
      io.stderr(`istio-canary: ${error.message}
Run istio-canary --help for the flags.
`);
      return EXIT_USAGE;
    }
    throw error;
  }
  const secrets = secretValues(args.inputs);
  const logger = terminalLogger(args.output === "json" ? io.stderr : io.stdout, secrets);
  try {
    const report = await runCommand(settings, createCliDeps(settings, logger, io));
    const reportPath = await writeJsonReport(report, io.env.ISTIO_CANARY_REPORT_DIR || void 0);
    const outputs = outputsOf(report, reportPath);
    if (args.dotenv) await writeDotenv(args.dotenv, outputs);
    if (args.output === "json")
      io.stdout(`${redact(JSON.stringify({ ...report, outputs }, null, 2), secrets)}
`);
    else
      logger.info(
        `Result: ${report.outcome}${report.reason ? ` - ${report.reason}` : ""} (canary weight ${report.weightAfter}%; report ${reportPath}).`
      );
    return succeeded(report) && !io.signal.aborted ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    logger.error(error instanceof Error ? error.message : String(error));
    if (!(error instanceof UserError) && error instanceof Error && io.env.ISTIO_CANARY_DEBUG)
      logger.debug(error.stack ?? "");
    return EXIT_FAILED;
  }
}
function createCliDeps(settings, logger, io) {
  const cluster = createCluster({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
    clock: systemClock,
    logger
  });
  return {
    cluster,
    clock: systemClock,
    logger,
    signal: io.signal,
    runId: cliRunId(io.env),
    prometheus: (s) => createPrometheusClient({
      url: s.prometheus.url,
      headers: s.prometheus.headers,
      token: s.prometheus.token,
      cluster,
      clock: systemClock,
      logger,
      maxElapsedMs: Math.min(6e4, Math.max(1e4, 2 * s.intervalMs))
    })
  };
}
function cliRunId(env) {
  if (env.ISTIO_CANARY_RUN_ID) return env.ISTIO_CANARY_RUN_ID;
  if (env.GITLAB_CI)
    return `gitlab:${env.CI_PROJECT_PATH ?? "project"}/${env.CI_PIPELINE_ID ?? "?"}/${env.CI_JOB_ID ?? "?"}`;
  return `cli:${hostname()}/${process.pid}`;
}
function kubeconfigInput(value) {
  if (value === void 0 || value.includes("\n")) return value;
  const path = value.startsWith("~/") ? `${process.env.HOME ?? ""}${value.slice(1)}` : value;
  return existsSync(path) ? readFileSync(path, "utf8") : value;
}
function secretValues(inputs) {
  const values = [];
  for (const input of INPUTS.filter((i) => i.secret)) {
    const value = inputs[input.name];
    if (!value) continue;
    for (const line of value.split(/\r?\n/)) {
      const secret = (input.name === "prometheus-headers" ? line.replace(/^[^:]*:\s*/, "") : line).trim();
      if (secret.length >= 4) values.push(secret);
    }
  }
  return values;
}
async function writeDotenv(path, outputs) {
  const lines = Object.entries(outputs).map(
    ([name, value]) => `ISTIO_CANARY_${name.toUpperCase().replace(/-/g, "_")}=${value.replace(/\n/g, " ")}`
  );
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${lines.join("\n")}
`);
  await rename(temp, path);
}

// src/version.ts
var VERSION = "0.1.0";

// src/cli/process.ts
var CANCEL_GRACE_MS = 4500;
async function main() {
  const controller = new AbortController();
  const onSignal = (signal) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`Received ${signal}: restoring the original route before exiting.
`);
    controller.abort();
    setTimeout(() => {
      process.stderr.write("The restore did not finish in time; run `istio-canary rollback`.\n");
      process.exit(1);
    }, CANCEL_GRACE_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.exitCode = await runCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    signal: controller.signal,
    version: VERSION
  });
}
export {
  main
};

import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  parseSettings
} from "./chunk-DVVOOAVP.js";
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  helpText,
  inCliTerms,
  parseArgs
} from "./chunk-SHFKMMID.js";
import {
  UserError,
  cleanSecrets,
  inputSecrets,
  kubeconfigSecrets,
  redact
} from "./chunk-6P75CZHU.js";

// src/cli/main.ts
import { accessSync, constants } from "node:fs";
import { dirname, resolve } from "node:path";

// src/cli/kubeconfig.ts
import { existsSync, readFileSync, statSync } from "node:fs";
function isKubeconfigPath(value) {
  const trimmed = value.trim();
  if (trimmed.includes("\n")) return false;
  const pathShaped = /^(\/|\.\.?\/|~\/)/.test(trimmed);
  const notContent = !/^[A-Za-z0-9+/=]+$/.test(trimmed) && !trimmed.includes(":");
  return pathShaped || notContent;
}
function kubeconfigInput(value, env) {
  if (value === void 0 || value.includes("\n")) return value;
  const trimmed = value.trim();
  const path = trimmed.startsWith("~/") ? `${env.HOME ?? ""}${trimmed.slice(1)}` : trimmed;
  if (existsSync(path) && statSync(path).isFile()) return readFileSync(path, "utf8");
  if (isKubeconfigPath(trimmed)) {
    throw new UsageError(
      `--kubeconfig: no readable file "${path}"; give the path of a kubeconfig file, or its content as YAML or base64.`
    );
  }
  return value;
}

// src/cli/main.ts
async function runCli(argv, io) {
  const parsed = parseInvocation(argv, io);
  if (typeof parsed === "number") return parsed;
  const { execute } = await import("./execute-WTCKXAA3.js");
  return execute(parsed, io);
}
function parseInvocation(argv, io) {
  let secrets = [];
  let args;
  try {
    args = parseArgs(argv, io.env);
    secrets = inputSecrets(args.inputs);
    if (args.version) {
      io.stdout(`${io.version}
`);
      return EXIT_OK;
    }
    if (args.help) {
      io.stdout(helpText(io.version, args.command));
      return EXIT_OK;
    }
    const kubeconfig = kubeconfigInput(args.inputs.kubeconfig, io.env);
    secrets = cleanSecrets([...secrets, ...kubeconfigSecrets(kubeconfig, io.env)]);
    const settings = parseSettings(
      (name) => name === "kubeconfig" ? kubeconfig : args.inputs[name]
    );
    if (args.dotenv) checkWritable(args.dotenv);
    return { args, settings, secrets };
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof UserError)) {
      io.stderr(redact(`istio-canary: internal error: ${String(error)}
`, secrets));
      return EXIT_FAILED;
    }
    const message = inCliTerms(error.message, args?.sources ?? {});
    io.stderr(
      redact(`istio-canary: ${message}
Run istio-canary --help for the flags.
`, secrets)
    );
    return EXIT_USAGE;
  }
}
function checkWritable(path) {
  const folder = dirname(resolve(path));
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw new UsageError(
      `--dotenv ${path}: the folder ${folder} does not exist or is not writable.`
    );
  }
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

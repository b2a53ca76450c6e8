import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  ExitGuard,
  Secrets,
  inputSecrets,
  kubeconfigSecrets,
  parseSettings,
  safeWriter
} from "./chunk-QDG3XEKM.js";
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  helpText,
  inCliTerms,
  parseArgs,
  terminalText
} from "./chunk-QPKXIZZN.js";
import {
  UserError,
  VERSION,
  callLimits
} from "./chunk-SEGWWIB7.js";

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
  const { execute } = await import("./execute-LMLI2FJV.js");
  return execute(parsed, io);
}
function parseInvocation(argv, io) {
  const secrets = new Secrets();
  let args;
  try {
    args = parseArgs(argv, io.env);
    secrets.add(inputSecrets(args.inputs));
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
    secrets.add(kubeconfigSecrets(kubeconfig, io.env));
    const settings = parseSettings(
      (name) => name === "kubeconfig" ? kubeconfig : args.inputs[name]
    );
    if (args.dotenv) checkWritable(args.dotenv);
    return { args, settings, secrets, limits: callLimits(io.env) };
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof UserError)) {
      io.stderr(`istio-canary: internal error: ${terminalText(String(error), secrets)}
`);
      return EXIT_FAILED;
    }
    const message = terminalText(inCliTerms(error.message, args?.sources ?? {}), secrets);
    io.stderr(`istio-canary: ${message}
Run istio-canary --help for the flags.
`);
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

// src/cli/process.ts
async function main() {
  const stderr = safeWriter(process.stderr);
  const stdout = safeWriter(process.stdout);
  const controller = new AbortController();
  const guard = new ExitGuard({ controller, warn: (line) => stderr(`${line}
`) }).install();
  const code = await runCli(process.argv.slice(2), {
    stdout,
    stderr,
    env: process.env,
    signal: controller.signal,
    version: VERSION,
    protect: (run) => guard.protect(run)
  });
  process.exitCode = await guard.finish(code);
}
export {
  main
};

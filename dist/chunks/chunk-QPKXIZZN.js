import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  INPUTS,
  LIMIT_VARIABLES,
  logLine
} from "./chunk-SEGWWIB7.js";

// src/cli/args.ts
var UsageError = class extends Error {
  name = "UsageError";
};
var CLI_FLAGS = {
  output: "text or json: json prints one JSON report on stdout and the log on stderr [default: text]",
  dotenv: "also write the outputs to this file as NAME=value lines (a GitLab dotenv report)",
  help: "show help (istio-canary <command> --help for one command)",
  version: "show the version"
};
var COMMANDS = ["step", "promote", "rollback", "status"];
var INPUT_NAMES = new Set(INPUTS.map((i) => i.name));
var BOOLEAN_INPUTS = new Set(INPUTS.filter((i) => i.type === "boolean").map((i) => i.name));
var VALUE_FLAGS = ["output", "dotenv"];
function envName(input) {
  return `ISTIO_CANARY_${input.toUpperCase().replace(/-/g, "_")}`;
}
function parseArgs(argv, env) {
  const parsed = {
    inputs: {},
    sources: {},
    output: "text",
    help: false,
    version: false
  };
  const flags = readFlags(argv, parsed);
  for (const name of [...INPUT_NAMES, ...VALUE_FLAGS]) {
    const fromEnv = env[envName(name)];
    const value = flags[name] ?? (fromEnv === "" ? void 0 : fromEnv);
    if (value === void 0) continue;
    const source = name in flags ? "flag" : "env";
    if (name === "output") parsed.output = outputMode(value, source);
    else if (name === "dotenv") parsed.dotenv = value;
    else {
      parsed.inputs[name] = value;
      parsed.sources[name] = source;
    }
  }
  if (parsed.command !== void 0) {
    if (flags.command !== void 0 && flags.command !== parsed.command) {
      throw new UsageError(
        `The command is given twice: "${parsed.command}" and --command ${flags.command}.`
      );
    }
    parsed.inputs.command = parsed.command;
    parsed.sources.command = "flag";
  } else if (flags.command !== void 0) parsed.command = flags.command;
  return parsed;
}
function readFlags(argv, parsed) {
  const flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") parsed.help = true;
    else if (arg === "--version" || arg === "-v") parsed.version = true;
    else if (arg.startsWith("--") && arg.length > 2) {
      const eq = arg.indexOf("=");
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (!isFlag(name)) throw new UsageError(unknownFlag(name));
      let value;
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (BOOLEAN_INPUTS.has(name) && !isBooleanWord(argv[i + 1])) value = "true";
      else {
        value = flagValue(name, argv[i + 1]);
        i++;
      }
      if (name in flags) throw new UsageError(`Flag --${name} is given twice.`);
      flags[name] = value;
    } else if (parsed.command === void 0 && /^[a-z]/.test(arg)) {
      parsed.command = positionalCommand(arg, parsed);
    } else {
      throw new UsageError(
        `Unexpected argument "${arg}"; flags take the form --name value or --name=value.`
      );
    }
  }
  return flags;
}
function isFlag(name) {
  return INPUT_NAMES.has(name) || name in CLI_FLAGS;
}
function flagValue(name, next) {
  if (next === void 0 || next.startsWith("--") && next.length > 2) {
    throw new UsageError(`Flag --${name} needs a value: --${name} <value> or --${name}=<value>.`);
  }
  return next;
}
function positionalCommand(arg, parsed) {
  if (arg === "help" && !parsed.help) {
    parsed.help = true;
    return void 0;
  }
  if (!COMMANDS.includes(arg)) {
    throw new UsageError(`Unknown command "${arg}"; the commands are ${COMMANDS.join(", ")}.`);
  }
  return arg;
}
function isBooleanWord(value) {
  return value !== void 0 && /^(true|false|True|False|TRUE|FALSE)$/.test(value);
}
function outputMode(value, source) {
  if (value === "text" || value === "json") return value;
  const where = source === "flag" ? "Flag --output" : `${envName("output")} (--output)`;
  throw new UsageError(`${where} must be text or json; got "${value}".`);
}
function unknownFlag(name) {
  const all = [...INPUT_NAMES, ...Object.keys(CLI_FLAGS)];
  const scored = all.map((candidate) => ({ candidate, distance: editDistance(candidate, name) })).filter(({ candidate, distance }) => distance <= Math.max(2, candidate.length / 4)).sort((a, b) => a.distance - b.distance);
  const hint = scored.length > 0 ? ` Did you mean --${scored[0].candidate}?` : " See --help for the flags.";
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
var TARGET = [
  "kubeconfig",
  "context",
  "namespace",
  "virtual-service",
  "route",
  "host",
  "destination-rule",
  "stable-subset",
  "canary-subset",
  "stable-host",
  "canary-host"
];
var COMMAND_HELP = {
  step: {
    summary: "Set the canary weight(s) of one stage on the VirtualService, watch Prometheus for `duration` after each, and pass; on a breach restore the original route and exit 1.",
    needs: ["virtual-service", "stable-subset", "canary-subset", "weight"],
    reads: "all"
  },
  promote: {
    summary: "Send all traffic of the route to the canary subset and remove the rollout state.",
    needs: ["virtual-service", "stable-subset", "canary-subset"],
    reads: [...TARGET, "cleanup", "dry-run"]
  },
  rollback: {
    summary: "Restore the saved original route byte for byte and remove every trace of the rollout; a clean no-op when none is in progress. The saved state is checked first: when it does not explain the VirtualService, or disagrees with the inputs given, nothing is written.",
    needs: ["virtual-service"],
    reads: [...TARGET, "canary-match", "canary-match-weight", "dry-run"]
  },
  status: {
    summary: "Report the rollout state of the VirtualService. Writes nothing.",
    needs: ["virtual-service"],
    reads: TARGET
  }
};
var ENVIRONMENT = {
  ISTIO_CANARY_REPORT_DIR: "folder for the JSON and HTML report files [default: the temporary folder]",
  ISTIO_CANARY_RUN_ID: "names this run in the rollout state [default: the GitLab pipeline and job, else host and pid]",
  ISTIO_CANARY_DEBUG: "any value: debug lines and stack traces of internal errors",
  ...LIMIT_VARIABLES
};
var ACTION_ONLY = /* @__PURE__ */ new Set(["github-token"]);
function helpText(version, command) {
  const help = command === void 0 ? void 0 : COMMAND_HELP[command];
  const lines = help && command ? commandHeader(command, help) : toolHeader(version);
  const inputs = INPUTS.filter(
    (input) => help === void 0 || help.reads === "all" || help.reads.includes(input.name)
  );
  lines.push("Flags (each also read from the environment variable shown; a flag wins):");
  for (const input of inputs) {
    if (help && input.name === "command") continue;
    lines.push(`  --${input.name}  (${envName(input.name)})`, wrap(describe(input), 6));
  }
  if (help && help.reads !== "all") lines.push("  Other inputs are accepted and ignored.");
  lines.push("", "Tool flags:");
  for (const [name, text] of Object.entries(CLI_FLAGS)) {
    const variable = name === "output" || name === "dotenv" ? `  (${envName(name)})` : "";
    lines.push(`  --${name}${variable}`, wrap(text, 6));
  }
  lines.push("", "Environment:");
  for (const [name, text] of Object.entries(ENVIRONMENT)) lines.push(`  ${name}`, wrap(text, 6));
  lines.push(
    "",
    wrap(
      "Exit codes: 0 success (passed, promoted, rolled back on request, no-op, dry run), 1 rolled back or failed, 2 usage error.",
      0
    )
  );
  return `${lines.join("\n")}
`;
}
function toolHeader(version) {
  const lines = [
    `istio-canary ${version}: staged Istio canary rollouts from CI.`,
    "",
    "Usage: istio-canary <command> [--flag value | --flag=value ...]",
    "",
    "Commands:"
  ];
  for (const [name, { summary }] of Object.entries(COMMAND_HELP))
    lines.push(`  ${name.padEnd(9)}${wrap(summary, 11).trimStart()}`);
  lines.push("", "istio-canary <command> --help shows the flags one command reads.", "");
  return lines;
}
function commandHeader(command, { summary, needs }) {
  return [
    `istio-canary ${command} [--flag value | --flag=value ...]`,
    "",
    wrap(summary, 0),
    "",
    `Needs: ${needs.map((n) => `--${n}`).join(", ")}.`,
    ""
  ];
}
function describe(input) {
  const def = input.default !== void 0 ? ` [default: ${input.default}]` : input.defaultNote ? ` [default: ${input.defaultNote}]` : "";
  const note = ACTION_ONLY.has(input.name) ? " GitHub Action only; the CLI ignores it." : input.name === "kubeconfig" ? " The CLI also takes the path of a kubeconfig file." : "";
  return `${input.description}${def}${note}`;
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

// src/cli/io.ts
var EXIT_OK = 0;
var EXIT_FAILED = 1;
var EXIT_USAGE = 2;

// src/cli/messages.ts
var INPUT_NAMES2 = new Set(INPUTS.map((i) => i.name));
function inCliTerms(message, sources) {
  return message.replace(
    /\b([Ii])nputs? ((?:"[a-z][a-z0-9-]*"(?:,? and |, )?)+)/g,
    (whole, _initial, list) => {
      const names = [...list.matchAll(/"([a-z][a-z0-9-]*)"/g)].map((m) => m[1]);
      if (!names.every((name) => INPUT_NAMES2.has(name))) return whole;
      return list.replace(
        /"([a-z][a-z0-9-]*)"/g,
        (_quoted, name) => sources[name] === "env" ? `${envName(name)} (--${name})` : `--${name}`
      );
    }
  );
}

// src/cli/logger.ts
function terminalLogger(write, secrets, debug = false) {
  const line = (text) => write(`${terminalText(text, secrets)}
`);
  return {
    info: line,
    warn: (message) => line(`warning: ${message}`),
    error: (message) => line(`error: ${message}`),
    debug: (message) => {
      if (debug) line(`debug: ${message}`);
    },
    async group(title, fn) {
      line(`== ${title}`);
      return fn();
    }
  };
}
function terminalText(text, secrets) {
  return logLine(secrets.redact(text));
}

export {
  UsageError,
  parseArgs,
  ACTION_ONLY,
  helpText,
  EXIT_OK,
  EXIT_FAILED,
  EXIT_USAGE,
  inCliTerms,
  terminalLogger,
  terminalText
};

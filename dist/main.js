import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-GR7CWL2Y.js";
import "./chunks/chunk-QJSVXISK.js";
import "./chunks/chunk-DVVOOAVP.js";
import "./chunks/chunk-6P75CZHU.js";

// src/github/index.ts
await run();

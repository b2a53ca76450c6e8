import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-CSOBGGRG.js";
import "./chunks/chunk-BJRCJVXL.js";
import "./chunks/chunk-DVVOOAVP.js";
import "./chunks/chunk-6P75CZHU.js";

// src/github/index.ts
await run();

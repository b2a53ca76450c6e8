import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-LO3SBMOD.js";
import "./chunks/chunk-7QXCG5PP.js";
import "./chunks/chunk-A2BPYIDZ.js";
import "./chunks/chunk-WCCHFCU6.js";

// src/github/index.ts
await run();

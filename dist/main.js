import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-MCHFG45F.js";
import "./chunks/chunk-WBVO5KKL.js";
import "./chunks/chunk-XN2KRJ7W.js";
import "./chunks/chunk-YMV6TW27.js";

// src/github/index.ts
await run();

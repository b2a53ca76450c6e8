import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-SOUCM2UA.js";
import "./chunks/chunk-H7MIVSDW.js";

// src/github/index.ts
await run();

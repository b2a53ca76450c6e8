import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-OKADSOZ2.js";
import "./chunks/chunk-NTCD6D4A.js";
import "./chunks/chunk-FSLV6J3E.js";
import "./chunks/chunk-C6BZH5LE.js";

// src/github/index.ts
await run();

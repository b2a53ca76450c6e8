import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-BHXO67BE.js";
import "./chunks/chunk-ZO5ZI5VU.js";
import "./chunks/chunk-2WXR6GBZ.js";
import "./chunks/chunk-3Q2Z7PIN.js";

// src/github/index.ts
await run();

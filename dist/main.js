import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-S33NKPX7.js";
import "./chunks/chunk-CFEGAXWX.js";

// src/github/index.ts
await run();

import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-GBSZHBKS.js";
import "./chunks/chunk-IBIRBD77.js";
import "./chunks/chunk-XN2KRJ7W.js";
import "./chunks/chunk-YMV6TW27.js";

// src/github/index.ts
await run();

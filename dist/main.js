import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-LTS5MWSS.js";
import "./chunks/chunk-VP7HGKSA.js";
import "./chunks/chunk-SWODQ3BM.js";
import "./chunks/chunk-QOTIV6PK.js";

// src/github/index.ts
await run();

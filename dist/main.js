import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-THASXI5D.js";
import "./chunks/chunk-5XUZ64YN.js";
import "./chunks/chunk-LLZ3CGJU.js";
import "./chunks/chunk-7YP7M47S.js";

// src/github/index.ts
await run();

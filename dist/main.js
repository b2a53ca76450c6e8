import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-VQ6LX7GC.js";
import "./chunks/chunk-UNBSWFHG.js";
import "./chunks/chunk-QDG3XEKM.js";
import "./chunks/chunk-SEGWWIB7.js";

// src/github/index.ts
await run();

import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-V2II2NQW.js";
import "./chunks/chunk-VXZEBWZL.js";
import "./chunks/chunk-5JVSLM6V.js";
import "./chunks/chunk-UJZZFXTN.js";

// src/github/index.ts
await run();

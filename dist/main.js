import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-Z3UDUWFV.js";
import "./chunks/chunk-ZQKCWNAV.js";
import "./chunks/chunk-EYAQQLTX.js";
import "./chunks/chunk-DFXUSRPF.js";

// src/github/index.ts
await run();

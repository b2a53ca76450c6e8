import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-7UDPMOKL.js";
import "./chunks/chunk-6YJ3RHPN.js";

// src/github/index.ts
await run();

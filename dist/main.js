import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);
import {
  run
} from "./chunks/chunk-6JEEO7HD.js";
import "./chunks/chunk-67C3LPVL.js";

// src/github/index.ts
await run();

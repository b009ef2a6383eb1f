#!/usr/bin/env node
// The `portal` command: the compiled CLI when built (dist/), otherwise the TypeScript source via tsx.
import { existsSync } from "node:fs";

const compiled = new URL("../dist/src/cli.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli.ts", import.meta.url).href);
}

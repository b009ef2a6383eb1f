// After `tsc`, copies each method's browser scripts (src/methods/<factor>/browser/*.js), which tsc
// does not emit, beside the compiled code in dist/, where the portal serves them from.
import { cpSync, existsSync, readdirSync } from "node:fs";
import path from "node:path";

const methods = path.join("src", "methods");
for (const factor of readdirSync(methods)) {
  const browser = path.join(methods, factor, "browser");
  if (existsSync(browser)) cpSync(browser, path.join("dist", browser), { recursive: true });
}

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type RequestHandler, Router } from "express";
import type { Config } from "../../config.js";

// The browser side of passkeys, served from the portal's own origin (the CSP allows scripts from
// 'self' only, and no page should depend on another site): @simplewebauthn/browser's bundle, which
// defines window.SimpleWebAuthnBrowser, and the portal's script that uses it.

export const passkeyLibraryPath = "/public/passkey/simplewebauthn-browser.js";
export const passkeyScriptPath = "/public/passkey/passkey.js";

/** For a page's `scripts`: the library first, as the script needs it (both are deferred, so run in order). */
export const passkeyScripts = [passkeyLibraryPath, passkeyScriptPath];

const libraryName = "@simplewebauthn/browser";

/**
 * The package's browser bundle (a classic script, not a module), found from its entry point: the
 * package exports no other path. Its subfolders have package.json files of their own.
 */
function findLibraryBundle(): string {
  let dir = path.dirname(createRequire(import.meta.url).resolve(libraryName));
  while (!isPackageRoot(dir)) {
    if (path.dirname(dir) === dir) throw new Error(`${libraryName} has no package.json above its entry point`);
    dir = path.dirname(dir);
  }
  return path.join(dir, "dist", "bundle", "index.umd.min.js");
}

function isPackageRoot(dir: string): boolean {
  const file = path.join(dir, "package.json");
  return existsSync(file) && JSON.parse(readFileSync(file, "utf8")).name === libraryName;
}

// Beside this file under tsx; the build (tsc) does not copy .js files, so the image copies it.
const ownScript = fileURLToPath(new URL("./browser/passkey.js", import.meta.url));

/** Serves both scripts with the cache policy of the other static files (a day in production). */
export function passkeyAssetRoutes(config: Pick<Config, "isProduction">) {
  const files = { library: findLibraryBundle(), script: ownScript };
  for (const file of Object.values(files)) {
    // Missing at start-up, not at the first login with a passkey.
    if (!existsSync(file)) throw new Error(`The passkey script ${file} is missing`);
  }
  const sendScript =
    (file: string): RequestHandler =>
    (_req, res, next) => {
      res.sendFile(
        file,
        { maxAge: config.isProduction ? "1d" : 0, headers: { "Content-Type": "text/javascript; charset=utf-8" } },
        (error) => error && next(error),
      );
    };
  const router = Router();
  router.get(passkeyLibraryPath, sendScript(files.library));
  router.get(passkeyScriptPath, sendScript(files.script));
  return router;
}

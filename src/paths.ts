import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The folder holding package.json, found from this file so that it is the same under tsx (src/)
// and after the build (dist/src/).
function findProjectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("package.json not found above the source folder");
    dir = parent;
  }
  return dir;
}

export const projectRoot = findProjectRoot();
export const migrationsDir = path.join(projectRoot, "migrations");
export const viewsDir = path.join(projectRoot, "views");
export const publicDir = path.join(projectRoot, "public");
export const localesDir = path.join(projectRoot, "locales");

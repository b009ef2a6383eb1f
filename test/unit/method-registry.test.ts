import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { factorDefinitions, factorPages, methodKinds } from "../../src/methods/registry.js";
import { projectRoot } from "../../src/paths.js";

// The registry's promise: a factor lives in its own folder (src/methods/<id>/, views/methods/<id>/),
// and everything else works through the registry, so no other file names a method.

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? listFiles(full) : [full];
  });
}

// The phone gateway and its development outbox deliver SMS and calls: channels, not methods.
const deliveryFiles = ["src/gateways/", "src/web/routes/dev-outbox.ts", "views/dev/outbox.ejs"];

describe("the method registry", () => {
  test("every factor has its pages, in the same order, and every method kind is unique", () => {
    assert.deepEqual(
      factorPages.map((pages) => pages.id),
      factorDefinitions.map((definition) => definition.id),
    );
    for (const definition of factorDefinitions) {
      const pages = factorPages.find((candidate) => candidate.id === definition.id)!;
      assert.deepEqual(
        pages.logins.map((choice) => choice.kind),
        [...definition.kinds],
        `${definition.id}: the pages offer exactly its methods`,
      );
    }
    assert.equal(new Set(methodKinds).size, methodKinds.length);
  });

  test("no file outside a factor's folder names a method kind or a factor's table", () => {
    const kinds = factorDefinitions.flatMap((definition) => [definition.id, ...definition.kinds]);
    const tables = ["totp_factors", "totp_enrolments", "phone_factors", "phone_challenges", "recovery_codes"];
    const quoted = new RegExp(`["'\`](${[...new Set(kinds)].join("|")})["'\`]|\\b(${tables.join("|")})\\b`);
    const offenders: string[] = [];
    for (const root of ["src", "views"]) {
      for (const file of listFiles(path.join(projectRoot, root))) {
        const relative = path.relative(projectRoot, file).split(path.sep).join("/");
        // The factors' folders, and the registry's own files beside them.
        if (/^(src|views)\/methods\//.test(relative)) continue;
        if (deliveryFiles.some((allowed) => relative.startsWith(allowed))) continue;
        // Comments may say what a general rule is for; the code may not depend on one method.
        const code = readFileSync(file, "utf8")
          .split("\n")
          .filter((line) => !/^\s*(\/\/|\*|\/\*\*)/.test(line))
          .join("\n");
        const found = quoted.exec(code);
        if (found) offenders.push(`${relative}: ${found[0]}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});

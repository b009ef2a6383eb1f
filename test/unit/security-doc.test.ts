import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../../src/paths.js";

// SECURITY.md says which tests prove each property: every test it names must exist, in the file
// it names, or the document promises more than the suite proves.
test("every test SECURITY.md cites exists in the file it names", () => {
  const document = readFileSync(path.join(projectRoot, "SECURITY.md"), "utf8");
  const missing: string[] = [];
  let cited = 0;
  for (const line of document.split("\n").filter((row) => row.startsWith("|"))) {
    // "`test/…/x.test.ts`: "name", "name"; `test/…/y.test.ts`: "name"" in the table's last cell.
    for (const part of line.split(/(?=`test\/)/).slice(1)) {
      const file = /^`(test\/[^`]+\.ts)`/.exec(part)?.[1];
      if (!file) continue;
      const source = readFileSync(path.join(projectRoot, file), "utf8");
      for (const [, name] of part.matchAll(/"([^"]+)"/g)) {
        cited += 1;
        // A name may end with "…" where the test's name goes on with a value.
        const words = name!
          .split("…")
          .map((piece) => piece.trim())
          .filter(Boolean);
        if (!words.every((piece) => source.includes(piece))) missing.push(`${file}: ${name}`);
      }
    }
  }
  assert.ok(cited > 50, `only ${cited} tests cited: the table's format changed`);
  assert.deepEqual(missing, []);
});

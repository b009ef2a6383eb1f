import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { locales, readCatalogues } from "../../src/i18n.js";
import { projectRoot } from "../../src/paths.js";

// The catalogues (locales/<language>/<namespace>.json) say the same things in every language: a
// key in one language and not in another is a page that speaks two languages at once.

const catalogues = readCatalogues();

/** Every leaf of a catalogue as "namespace:path.to.key" → value. */
function flatten(value: unknown, prefix: string, into = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [name, inner] of Object.entries(value))
      flatten(inner, prefix.endsWith(":") ? `${prefix}${name}` : `${prefix}.${name}`, into);
  } else {
    into.set(prefix, value);
  }
  return into;
}

const leavesOf = (locale: (typeof locales)[number]) => {
  const leaves = new Map<string, unknown>();
  for (const [namespace, catalogue] of Object.entries(catalogues[locale])) flatten(catalogue, `${namespace}:`, leaves);
  return leaves;
};
const leaves = Object.fromEntries(locales.map((locale) => [locale, leavesOf(locale)])) as Record<
  (typeof locales)[number],
  Map<string, unknown>
>;

test("every language has the same namespaces", () => {
  const [first, ...others] = locales;
  for (const locale of others) {
    assert.deepEqual(Object.keys(catalogues[locale]).sort(), Object.keys(catalogues[first]).sort(), locale);
  }
});

test("every key of one language exists in every other, nested keys included", () => {
  for (const locale of locales) {
    for (const other of locales) {
      const missing = [...leaves[locale].keys()].filter((key) => !leaves[other].has(key));
      assert.deepEqual(missing, [], `in ${locale}, not in ${other}`);
    }
  }
});

test("no value is empty, and every value is text", () => {
  for (const locale of locales) {
    for (const [key, value] of leaves[locale]) {
      assert.equal(typeof value, "string", `${locale} ${key} is text`);
      assert.notEqual(String(value).trim(), "", `${locale} ${key} is not empty`);
    }
  }
});

test("a key has the same {{placeholders}} in every language", () => {
  const placeholders = (text: unknown) => [...String(text).matchAll(/\{\{-?\s*(\w+)/g)].map((match) => match[1]).sort();
  for (const [key, value] of leaves.en) {
    for (const locale of locales) {
      assert.deepEqual(placeholders(leaves[locale].get(key)), placeholders(value), `${locale} ${key}`);
    }
  }
});

/** Every .ts and .ejs file under a folder. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return /\.(ts|ejs)$/.test(name) ? [file] : [];
  });
}

test("every key the code and the views name literally is in the catalogues", () => {
  // A key is a namespace, a colon and a path, quoted whole: t("auth:login.title"), phrase("…"),
  // setNotice(req, "…"), { key: "…" } and the forms' messages all look like this.
  const quotedKey = /["'`]([a-z][A-Za-z]*:[A-Za-z][\w-]*(?:\.[\w-]+)*)["'`]/g;
  const namespaces = new Set(Object.keys(catalogues.en));
  const unknown: string[] = [];
  let found = 0;
  for (const file of [...sourceFiles(path.join(projectRoot, "src")), ...sourceFiles(path.join(projectRoot, "views"))]) {
    for (const [, key] of readFileSync(file, "utf8").matchAll(quotedKey)) {
      if (!key || !namespaces.has(key.split(":")[0]!)) continue;
      found += 1;
      const exists = leaves.en.has(key) || leaves.en.has(`${key}_one`) || leaves.en.has(`${key}_other`);
      if (!exists) unknown.push(`${path.relative(projectRoot, file)}: ${key}`);
    }
  }
  assert.ok(found > 100, `keys were found (${found})`);
  assert.deepEqual(unknown, []);
});

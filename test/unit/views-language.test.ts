import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { viewsDir } from "../../src/paths.js";

// A view says nothing in a language of its own: every word comes from the catalogues through
// t(…). What is left of a view without its EJS tags, HTML tags and code samples must have no word
// of two letters or more.

function viewFiles(dir = viewsDir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return viewFiles(file);
    return name.endsWith(".ejs") ? [path.relative(viewsDir, file).split(path.sep).join("/")] : [];
  });
}

/** The words a person would read that do not come from the catalogues. */
export function bareWords(template: string): string[] {
  const inCode: string[] = [];
  // Inside EJS: a quoted phrase that starts with a capital or a digit ("Not recorded", "6-digit
  // code") is text, not a class name.
  for (const [, code] of template.matchAll(/<%[-=_]?([\s\S]*?)[-_]?%>/g)) {
    for (const [, quoted] of code!.matchAll(/"([A-Z0-9][\w-]*(?: [\p{L}\w-]+)+[.!?]?)"/gu)) inCode.push(quoted!);
  }
  // Attribute values people read, when written literally.
  const inAttributes = [...template.matchAll(/\s(?:aria-label|title|alt|placeholder)="([^"<]*)"/g)].map((match) => match[1]!);
  const text = template
    .replace(/<%[\s\S]*?%>/g, " ")
    .replace(/<!--[\s\S]*?-->/g, " ")
    // Code samples (a setting's name) are not prose.
    .replace(/<code>[\s\S]*?<\/code>/g, " ")
    .replace(/<[^>]*>/g, " ")
    // Attributes a partial writes into its caller's tag (partials/field-aria).
    .replace(/[\w-]+="[^"]*"/g, " ")
    .replace(/&#?\w+;/g, " ");
  const words = [text, ...inAttributes].join(" ").match(/\p{L}{2,}/gu) ?? [];
  return [...words, ...inCode];
}

test("the check finds a bare sentence, a literal label and a worded string in EJS", () => {
  assert.deepEqual(bareWords('<p><%= t("auth:login.title") %></p>'), []);
  assert.deepEqual(bareWords("<p>Log in</p>"), ["Log", "in"]);
  assert.deepEqual(bareWords('<nav aria-label="Account"><%= x %></nav>'), ["Account"]);
  assert.deepEqual(bareWords('<dd><%= value || "Not recorded" %></dd>'), ["Not recorded"]);
  assert.deepEqual(bareWords('<label><%= label || "6-digit code" %></label>'), ["6-digit code"]);
  assert.deepEqual(bareWords('<% if (x) { %> aria-invalid="true"<% } %>'), []);
  assert.deepEqual(
    bareWords('<div class="field<%= error ? " field-with-error" : "" %>">— <code>PHONE_GATEWAY=outbox</code></div>'),
    [],
  );
});

test("no view has a bare word of its own", () => {
  const bare = viewFiles().flatMap((view) => {
    const words = bareWords(readFileSync(path.join(viewsDir, view), "utf8"));
    return words.length ? [`${view}: ${words.join(" ")}`] : [];
  });
  assert.deepEqual(bare, []);
});

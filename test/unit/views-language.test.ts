import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { viewsDir } from "../../src/paths.js";

// A view says nothing in a language of its own: every word comes from the catalogues through
// t(…). What is left of a view without its EJS tags, HTML tags and code samples must have no word
// of two letters or more.

/**
 * Views still worded in English, to be moved to the catalogues after the restructuring of the
 * second-factor and admin pages. Take a view off this list when it is translated; the last test
 * below fails for a view on the list that no longer needs to be.
 */
const viewsStillInEnglish = [
  "admin/audit.ejs",
  "admin/reset-confirm.ejs",
  "admin/user-new.ejs",
  "admin/user.ejs",
  "admin/users.ejs",
  "methods/app/enrolment.ejs",
  "methods/app/login.ejs",
  "methods/passkey/login.ejs",
  "methods/passkey/register.ejs",
  "methods/phone/call-login.ejs",
  "methods/phone/enrolment.ejs",
  "methods/phone/sms-login.ejs",
  "methods/phone/verify.ejs",
  "methods/recovery/codes-new.ejs",
  "methods/recovery/codes.ejs",
  "methods/recovery/login.ejs",
  "methods/recovery/used.ejs",
  "partials/code-input.ejs",
  "partials/method-chooser.ejs",
  "two-factor/choose.ejs",
  "two-factor/enrol.ejs",
];

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

test("the list of views still in English names views that exist", () => {
  const views = new Set(viewFiles());
  assert.deepEqual(
    viewsStillInEnglish.filter((view) => !views.has(view)),
    [],
  );
});

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

test("no view outside the list has a bare English word", () => {
  const bare = viewFiles()
    .filter((view) => !viewsStillInEnglish.includes(view))
    .flatMap((view) => {
      const words = bareWords(readFileSync(path.join(viewsDir, view), "utf8"));
      return words.length ? [`${view}: ${words.join(" ")}`] : [];
    });
  assert.deepEqual(bare, []);
});

test("every view on the list still has English of its own (else take it off the list)", () => {
  const translated = viewsStillInEnglish.filter(
    (view) => bareWords(readFileSync(path.join(viewsDir, view), "utf8")).length === 0,
  );
  assert.deepEqual(translated, []);
});

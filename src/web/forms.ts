import { z } from "zod";
import { englishWords, isPhrase, type Message, type Phrase, translateMessage } from "../i18n.js";
import type { FormError } from "./render.js";

// Control characters (NUL, escape, the C1 range…) are never typed into a form; PostgreSQL cannot
// even store a NUL in text. Multi-line fields keep their line breaks and tabs.
const controlCharacter = /\p{Cc}/u;
const controlCharacterButLineBreaks = /(?![\t\n\r])\p{Cc}/u;

export function hasControlCharacter(value: string, options: { multiline?: boolean } = {}): boolean {
  return (options.multiline ? controlCharacterButLineBreaks : controlCharacter).test(value);
}

// A schema's messages are catalogue keys ("forms:errors.missing"), turned into Phrases by
// parseForm and translated when the page is rendered. The values a message needs travel with
// the problem: zod's own (`maximum`) or `params` given to a refinement.
const catalogueKey = /^[A-Za-z]+:[\w.-]+$/;

/**
 * Every form field is a bounded string without control characters: arrays, objects, oversized
 * values and invisible characters are refused at the edge. `label` is the field's name as the
 * form shows it (a Phrase, e.g. phrase("forms:labels.email")), so that the problem says which
 * field it is. A plain string label (older code) is shown as it is.
 */
export const field = (max: number, label: Message, options: { multiline?: boolean } = {}) =>
  z
    .string({ error: "forms:errors.missing" })
    .max(max, "forms:errors.tooLong")
    // Whitespace around the value does not count: fields that trim it (an email pasted with a
    // line break after it) still work.
    .refine((value) => !hasControlCharacter(value.trim(), options), {
      error: "forms:errors.controlCharacter",
      params: { label },
      abort: true,
    });

export const emailField = field(254, { key: "forms:labels.email" })
  .trim()
  .min(1, "forms:errors.emailMissing")
  .pipe(z.email({ error: "forms:errors.emailInvalid" }));

export const passwordField = (label: Message = { key: "forms:labels.password" }) =>
  field(1024, label).min(1, "forms:errors.passwordMissing");

// PostgreSQL has no year 0 and the audit log nothing from before 1900: dates outside these are refused.
export const earliestDate = "1900-01-01";
export const latestDate = "9999-12-31";

const isoDate = z.iso.date();

/** A date typed as YYYY-MM-DD, or left empty. */
export const dateField = (label: Message) =>
  field(20, label)
    .trim()
    .refine((value) => value === "" || isoDate.safeParse(value).success, { error: "forms:errors.dateFormat", abort: true })
    .refine((value) => value === "" || (value >= earliestDate && value <= latestDate), {
      error: "forms:errors.dateRange",
      params: { earliest: earliestDate, latest: latestDate },
    });

/** The problem zod found, as words to translate: a catalogue key becomes a Phrase with its values. */
function messageOf(issue: z.core.$ZodIssue | undefined): Message {
  if (!issue) return { key: "forms:errors.unreadable" };
  if (!catalogueKey.test(issue.message)) return issue.message;
  const values: Record<string, unknown> = { ...(issue.code === "custom" ? issue.params : {}) };
  if (issue.code === "too_big") values.max = Number(issue.maximum);
  if (issue.code === "too_small") values.min = Number(issue.minimum);
  return { key: issue.message, values } satisfies Phrase;
}

/**
 * Parses a form body; returns the data or the first problem, with the field it is about, as a
 * FormError ready for renderPage (which translates it in the page's language). `error` is the
 * same problem in English, for code that has not moved to `formError` yet.
 */
export function parseForm<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { ok: true; data: z.infer<T> } | { ok: false; error: string; field: string | null; formError: FormError } {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  const message = messageOf(issue);
  const field = issue?.path.length ? String(issue.path[0]) : null;
  return {
    ok: false,
    get error() {
      return isPhrase(message) ? translateMessage(englishWords(), message) : message;
    },
    field,
    formError: { field, message },
  };
}

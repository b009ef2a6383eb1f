import { z } from "zod";
import type { FormError } from "./render.js";

// Control characters (NUL, escape, the C1 range…) are never typed into a form; PostgreSQL cannot
// even store a NUL in text. Multi-line fields keep their line breaks and tabs.
const controlCharacter = /\p{Cc}/u;
const controlCharacterButLineBreaks = /(?![\t\n\r])\p{Cc}/u;

export function hasControlCharacter(value: string, options: { multiline?: boolean } = {}): boolean {
  return (options.multiline ? controlCharacterButLineBreaks : controlCharacter).test(value);
}

/**
 * Every form field is a bounded string without control characters: arrays, objects, oversized
 * values and invisible characters are refused at the edge. `label` is the field's name as the
 * form shows it, so that the problem says which field it is.
 */
export const field = (max: number, label: string, options: { multiline?: boolean } = {}) =>
  z
    .string({ error: "This field is missing." })
    .max(max, `At most ${max} characters.`)
    // Whitespace around the value does not count: fields that trim it (an email pasted with a
    // line break after it) still work.
    .refine((value) => !hasControlCharacter(value.trim(), options), {
      error: `“${label}” contains an invisible control character, which cannot be used. Type it again without it.`,
      abort: true,
    });

export const emailField = field(254, "Email address")
  .trim()
  .min(1, "Enter your email address.")
  .pipe(z.email({ error: "Enter a valid email address, like name@example.com." }));

export const passwordField = (label = "Password") => field(1024, label).min(1, "Enter your password.");

// PostgreSQL has no year 0 and the audit log nothing from before 1900: dates outside these are refused.
export const earliestDate = "1900-01-01";
export const latestDate = "9999-12-31";

const isoDate = z.iso.date();

/** A date typed as YYYY-MM-DD, or left empty. */
export const dateField = (label: string) =>
  field(20, label)
    .trim()
    .refine((value) => value === "" || isoDate.safeParse(value).success, { error: "Enter dates like 2026-03-31.", abort: true })
    .refine((value) => value === "" || (value >= earliestDate && value <= latestDate), {
      error: `Enter dates between ${earliestDate} and ${latestDate}.`,
    });

/**
 * Parses a form body; returns the data or the first problem as a readable message, with the
 * field it is about (`formError` is the same, ready for renderPage).
 */
export function parseForm<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { ok: true; data: z.infer<T> } | { ok: false; error: string; field: string | null; formError: FormError } {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  const error = issue?.message ?? "The form could not be read.";
  const field = issue?.path.length ? String(issue.path[0]) : null;
  return { ok: false, error, field, formError: { field, message: error } };
}

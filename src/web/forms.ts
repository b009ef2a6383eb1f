import { z } from "zod";
import type { FormError } from "./render.js";

// Every form field is a bounded string: arrays, objects and oversized values are refused at the edge.
export const field = (max: number) => z.string({ error: "This field is missing." }).max(max, `At most ${max} characters.`);

export const emailField = field(254)
  .trim()
  .min(1, "Enter your email address.")
  .pipe(z.email({ error: "Enter a valid email address, like name@example.com." }));

export const passwordField = field(1024).min(1, "Enter your password.");

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

import { z } from "zod";

// Every form field is a bounded string: arrays, objects and oversized values are refused at the edge.
export const field = (max: number) => z.string({ error: "This field is missing." }).max(max, `At most ${max} characters.`);

export const emailField = field(254)
  .trim()
  .min(1, "Enter your email address.")
  .pipe(z.email({ error: "Enter a valid email address, like name@example.com." }));

export const passwordField = field(1024).min(1, "Enter your password.");

/** Parses a form body; returns the data or the first problem as a readable message. */
export function parseForm<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { ok: true; data: z.infer<T> } | { ok: false; error: string } {
  const result = schema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, error: result.error.issues[0]?.message ?? "The form could not be read." };
}

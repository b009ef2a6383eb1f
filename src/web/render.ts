import type { Response } from "express";

/** A problem with what the user sent: the field it is about (its id on the page), if any. */
export interface FormError {
  field: string | null;
  message: string;
}

// Pages pass `errors` (several problems) or `error` (one, or a sentence about no field).
function collectErrors(locals: Record<string, unknown>): FormError[] {
  if (Array.isArray(locals.errors)) return locals.errors as FormError[];
  const { error } = locals;
  if (typeof error === "string") return [{ field: null, message: error }];
  if (error && typeof error === "object") return [error as FormError];
  return [];
}

/**
 * Renders a page inside the one layout: views/layout.ejs includes views/<view>.ejs. Problems with
 * the form are shown the GOV.UK way: a summary at the top and each field's own message, which
 * views place with partials/field-error and partials/field-aria (via `errorFor`).
 */
export function renderPage(res: Response, view: string, locals: Record<string, unknown> = {}, status = 200): void {
  const errors = collectErrors(locals);
  const errorFor = (field: string) => errors.find((error) => error.field === field)?.message ?? null;
  res.status(status).render("layout", { ...locals, view, errors, errorFor });
}

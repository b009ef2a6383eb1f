import type { Response } from "express";
import { type Message, translate } from "./i18n-helpers.js";

/** A problem with what the user sent: the field it is about (its id on the page), if any. */
export interface FormError {
  field: string | null;
  /** Words to show: a Phrase (translated when the page is rendered) or a plain string. */
  message: Message;
}

// Pages pass `errors` (several problems) or `error` (one, or words about no field).
function collectErrors(locals: Record<string, unknown>): FormError[] {
  if (Array.isArray(locals.errors)) return locals.errors as FormError[];
  const { error } = locals;
  if (typeof error === "string") return [{ field: null, message: error }];
  if (error && typeof error === "object")
    return "message" in error ? [error as FormError] : [{ field: null, message: error as Message }];
  return [];
}

/**
 * Renders a page inside the one layout: views/layout.ejs includes views/<view>.ejs. Problems with
 * the form are shown the GOV.UK way: a summary at the top and each field's own message, which
 * views place with partials/field-error and partials/field-aria (via `errorFor`).
 *
 * Words may be given as Phrases (see web/i18n-helpers.ts): `title`, `notice` and the errors are
 * translated here, in the language of the request.
 */
export function renderPage(res: Response, view: string, locals: Record<string, unknown> = {}, status = 200): void {
  const say = (message: Message) => translate(res.req, message);
  const errors = collectErrors(locals).map((error) => ({ field: error.field, message: say(error.message) }));
  const errorFor = (field: string) => errors.find((error) => error.field === field)?.message ?? null;
  const worded: Record<string, unknown> = {};
  for (const name of ["title", "notice"]) {
    const value = locals[name];
    if (value !== null && value !== undefined) worded[name] = say(value as Message);
  }
  res.status(status).render("layout", { ...locals, ...worded, view, errors, errorFor });
}

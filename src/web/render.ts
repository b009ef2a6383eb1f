import type { Response } from "express";

/** Renders a page inside the one layout: views/layout.ejs includes views/<view>.ejs. */
export function renderPage(res: Response, view: string, locals: Record<string, unknown> = {}, status = 200): void {
  res.status(status).render("layout", { ...locals, view });
}

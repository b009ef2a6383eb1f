import type { Response } from "express";
import { renderPage } from "./render.js";

// The pages a user sees when a limit stops them: until when, and what they can do meanwhile
// (SECURITY.md: "a page that says when to try again and offers the user's other methods").

export interface PageLink {
  href: string;
  label: string;
}

function setRetryAfter(res: Response, until: Date, now: Date): void {
  res.set("Retry-After", String(Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000))));
}

/** Sending SMS and calls is paused: the page names the end and the ways in that need no phone. */
export function renderSendLimited(
  res: Response,
  {
    retryAt,
    now,
    alternatives,
    alternativesHeading = "Log in another way now",
    back,
  }: { retryAt: Date; now: Date; alternatives: PageLink[]; alternativesHeading?: string; back?: PageLink },
): void {
  setRetryAfter(res, retryAt, now);
  renderPage(
    res,
    "two-factor/send-limited",
    { title: "No more codes or calls for now", retryAt, alternatives, alternativesHeading, back },
    429,
  );
}

/** Two-step login is locked after wrong codes: every method waits, so the page offers the practice. */
export function renderLockedOut(res: Response, { until, now, back }: { until: Date; now: Date; back: PageLink }): void {
  setRetryAfter(res, until, now);
  renderPage(res, "two-factor/locked", { title: "Two-step login is locked", until, back }, 429);
}

import type { Response } from "express";
import { type Message, phrase } from "./i18n-helpers.js";
import { renderPage } from "./render.js";

// The pages a user sees when a limit stops them: until when, and what they can do meanwhile
// (SECURITY.md: "a page that says when to try again and offers the user's other methods").

export interface PageLink {
  href: string;
  /** The link's words: a Phrase, translated on the page, or a plain string. */
  label: Message;
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
    alternativesHeading = phrase("twoFactor:sendLimited.otherWays"),
    back,
  }: { retryAt: Date; now: Date; alternatives: PageLink[]; alternativesHeading?: Message; back?: PageLink },
): void {
  setRetryAfter(res, retryAt, now);
  renderPage(
    res,
    "two-factor/send-limited",
    { title: phrase("twoFactor:sendLimited.title"), retryAt, alternatives, alternativesHeading, back },
    429,
  );
}

/** Two-step login is locked after wrong codes: every method waits, so the page offers the practice. */
export function renderLockedOut(res: Response, { until, now, back }: { until: Date; now: Date; back: PageLink }): void {
  setRetryAfter(res, until, now);
  renderPage(res, "two-factor/locked", { title: phrase("twoFactor:locked.title"), until, back }, 429);
}

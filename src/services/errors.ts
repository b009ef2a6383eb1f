import type { Message } from "../i18n.js";

/**
 * An error that carries the HTTP status and words safe to show to the user: a Phrase (a catalogue
 * key, translated by the error page in the user's language) or a sentence older code worded.
 */
export class HttpError extends Error {
  /** What the error page says. */
  readonly words: Message;

  constructor(
    readonly status: number,
    words: Message,
    readonly details: { retryAt?: Date } = {},
  ) {
    super(typeof words === "string" ? words : words.key);
    this.words = words;
  }
}

export class NotFoundError extends HttpError {
  constructor(words: Message = { key: "errors:messages.notFound" }) {
    super(404, words);
  }
}

export class ForbiddenError extends HttpError {
  constructor(words: Message = { key: "errors:messages.forbidden" }) {
    super(403, words);
  }
}

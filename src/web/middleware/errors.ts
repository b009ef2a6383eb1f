import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Config } from "../../config.js";
import { DatabaseUnavailableError, isConnectionError, isDataError } from "../../db/database.js";
import type { Logger } from "../../logger.js";
import type { Clock } from "../../services/clock.js";
import { HttpError, NotFoundError } from "../../services/errors.js";
import { type Message, phrase, translate } from "../i18n-helpers.js";
import { urlForLog } from "../log-url.js";
import { renderPage } from "../render.js";
import { isResponseEnding } from "../session.js";

/** The statuses the error page has a title for (errors:titles.<status>); others are "Error". */
const titledStatuses = new Set([400, 403, 404, 413, 429, 500, 503]);

export const notFound: RequestHandler = (_req, _res, next) => next(new NotFoundError());

function describe(error: unknown): { status: number; message: Message; retryAt?: Date } {
  if (error instanceof HttpError) return { status: error.status, message: error.words, retryAt: error.details.retryAt };
  // Libraries with their own queries (the session store, the rate limiter) throw pg's errors as they are.
  if (error instanceof DatabaseUnavailableError || isConnectionError(error)) {
    return { status: 503, message: phrase("errors:messages.databaseUnavailable") };
  }
  if (isDataError(error)) return { status: 400, message: phrase("errors:messages.dataRefused") };
  const candidate = error as { status?: number; statusCode?: number; type?: string; code?: string; message?: string };
  const status = candidate.status ?? candidate.statusCode;
  // csrf-sync's error (web/middleware/csrf.ts): its own message is English, the page says it in the user's language.
  if (candidate.code === "EBADCSRFTOKEN") return { status: 403, message: phrase("errors:messages.formExpired") };
  if (status === 413 || candidate.type === "entity.too.large" || candidate.type === "parameters.too.many") {
    return { status: 400, message: phrase("errors:messages.tooMuchData") };
  }
  if (status && status >= 400 && status < 500) return { status: 400, message: phrase("errors:messages.unreadable") };
  return { status: 500, message: phrase("errors:messages.unexpected") };
}

export function createErrorHandler({
  config,
  logger,
  clock,
}: {
  config: Config;
  logger: Logger;
  clock: Clock;
}): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const described = describe(error);
    const { status, retryAt } = described;
    const message = translate(req, described.message);
    if (status >= 500) logger.error({ err: error, url: urlForLog(req.originalUrl) }, "request failed");
    // The forms should have refused it: worth a look, though the user is told what to fix.
    else if (isDataError(error)) logger.warn({ err: error, url: urlForLog(req.originalUrl) }, "input refused by the database");
    if (isResponseEnding(res)) return;
    if (status === 503) res.set("Retry-After", "30");
    if (retryAt) res.set("Retry-After", String(Math.max(1, Math.ceil((retryAt.getTime() - clock.now().getTime()) / 1000))));
    res.set("Cache-Control", "no-store");
    const locals = {
      title: phrase(titledStatuses.has(status) ? `errors:titles.${status}` : "errors:titles.other"),
      status,
      message,
      retryAt,
      // Stack traces only ever in development.
      stack: config.nodeEnv === "development" && status >= 500 && error instanceof Error ? error.stack : undefined,
    };
    if (req.accepts(["html", "json"]) === "json") {
      res.status(status).json({ error: message });
      return;
    }
    try {
      renderPage(res, "errors/error", locals, status);
    } catch {
      res.status(status).type("text/plain").send(message);
    }
  };
}

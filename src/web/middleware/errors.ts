import type { ErrorRequestHandler, RequestHandler } from "express";
import type { Config } from "../../config.js";
import { DatabaseUnavailableError, isConnectionError, isDataError } from "../../db/database.js";
import type { Logger } from "../../logger.js";
import type { Clock } from "../../services/clock.js";
import { HttpError, NotFoundError } from "../../services/errors.js";
import { urlForLog } from "../log-url.js";
import { renderPage } from "../render.js";
import { isResponseEnding } from "../session.js";

const titles: Record<number, string> = {
  400: "Something in the form was not right",
  403: "Not allowed",
  404: "Page not found",
  413: "Too much data",
  429: "Too many attempts",
  500: "Something went wrong",
  503: "Temporarily unavailable",
};

export const notFound: RequestHandler = (_req, _res, next) => next(new NotFoundError());

function describe(error: unknown): { status: number; message: string; retryAt?: Date } {
  if (error instanceof HttpError) return { status: error.status, message: error.message, retryAt: error.details.retryAt };
  // Libraries with their own queries (the session store, the rate limiter) throw pg's errors as they are.
  if (error instanceof DatabaseUnavailableError || isConnectionError(error)) {
    return {
      status: 503,
      message: "The portal cannot reach its database just now. Nothing was changed. Please try again in a minute.",
    };
  }
  if (isDataError(error)) {
    return {
      status: 400,
      message: "Something you sent could not be used (an invisible character, or a date out of range). Check it and try again.",
    };
  }
  const candidate = error as { status?: number; statusCode?: number; type?: string; code?: string; message?: string };
  const status = candidate.status ?? candidate.statusCode;
  if (candidate.code === "EBADCSRFTOKEN") return { status: 403, message: candidate.message ?? "Invalid form." };
  if (status === 413 || candidate.type === "entity.too.large" || candidate.type === "parameters.too.many") {
    return { status: 400, message: "The form sent more data than this page accepts." };
  }
  if (status && status >= 400 && status < 500) return { status: 400, message: "The request could not be read." };
  return { status: 500, message: "An unexpected error happened. It has been logged; please try again." };
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
    const { status, message, retryAt } = describe(error);
    if (status >= 500) logger.error({ err: error, url: urlForLog(req.originalUrl) }, "request failed");
    // The forms should have refused it: worth a look, though the user is told what to fix.
    else if (isDataError(error)) logger.warn({ err: error, url: urlForLog(req.originalUrl) }, "input refused by the database");
    if (isResponseEnding(res)) return;
    if (status === 503) res.set("Retry-After", "30");
    if (retryAt) res.set("Retry-After", String(Math.max(1, Math.ceil((retryAt.getTime() - clock.now().getTime()) / 1000))));
    res.set("Cache-Control", "no-store");
    const locals = {
      title: titles[status] ?? "Error",
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

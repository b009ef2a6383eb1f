import type { RequestHandler } from "express";
import { handle, LanguageDetector } from "i18next-http-middleware";
import type { I18n } from "../i18n.js";
import { setLanguageLocals } from "./view-helpers.js";

// Which language a request is answered in, first match wins:
//   1. the signed-in user's saved choice (users.locale, read with the session),
//   2. the visitor's own choice: the portal.lang cookie the language switch sets,
//   3. the browser's Accept-Language (read by acceptedLanguages),
//   4. DEFAULT_LOCALE (i18next's fallbackLng).

export const languageCookieName = "portal.lang";

/** i18next-http-middleware's detector in the order above; handed to createI18n. */
export function createLanguageDetector(): LanguageDetector {
  const detector = new LanguageDetector(null, {
    order: ["savedUserLocale", "cookie", "acceptLanguage"],
    lookupCookie: languageCookieName,
    // Only the switch writes the cookie: a language taken from Accept-Language is not stored.
    caches: false,
  });
  detector.addDetector({ name: "savedUserLocale", lookup: (req) => req.savedLocale });
  detector.addDetector({ name: "acceptLanguage", lookup: (req) => acceptedLanguages(req.headers["accept-language"]) });
  return detector;
}

const languageTag = /^[a-z]{1,8}(?:-[a-z0-9]{1,8})*$/;

/**
 * The languages an Accept-Language header asks for, most wanted first (RFC 9110 §12.5.4): tags in
 * any case ("NL" is Dutch), a weight of 0 meaning "not this one", and each tag as its language
 * alone, as the portal's languages are ("nl-NL" is Dutch). The middleware's own reader does none
 * of this, and i18next prefers an exact match further down the list: "nl-NL, en;q=0.5" was English.
 */
export function acceptedLanguages(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(",")
    .map((part, position) => {
      const [tag = "", ...parameters] = part.split(";").map((piece) => piece.trim());
      const weight = parameters.find((parameter) => /^q=/i.test(parameter));
      return { tag: tag.toLowerCase(), weight: weight === undefined ? 1 : Number(weight.slice(2)), position };
    })
    .filter(({ tag, weight }) => languageTag.test(tag) && weight > 0 && weight <= 1)
    .sort((a, b) => b.weight - a.weight || a.position - b.position)
    .map(({ tag }) => tag.split("-")[0]!)
    .filter((language, index, all) => all.indexOf(language) === index);
}

// Requests that show no words: the middleware's copy of the i18next instance for each request
// (about 0.1 ms) is not made for them. A page shown for one of them (a missing file's 404) is in
// English (web/i18n-helpers.ts, wordsOf).
const wordlessPaths = /^\/(?:public\/|webhooks\/|healthz$|readyz$)/;

/**
 * The i18next middleware (req.t, req.language, res.locals.t), mounted before the session so that
 * every page has its words, the pages of refused logins and failed sessions included. The
 * session is read later: applySavedLanguage then lets the user's saved choice win.
 */
export function detectLanguage(i18n: I18n): RequestHandler {
  return handle(i18n, { ignoreRoutes: (req) => wordlessPaths.test(req.path) }) as RequestHandler;
}

/** After the session middleware: the signed-in user's saved language comes first. */
export const applySavedLanguage: RequestHandler = (req, res, next) => {
  if (req.savedLocale && req.i18n && req.savedLocale !== req.language) {
    // The catalogues are in memory: the change takes effect before this call returns.
    void req.i18n.changeLanguage(req.savedLocale);
    setLanguageLocals(req, res);
  }
  next();
};

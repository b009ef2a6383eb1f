import type { Request, RequestHandler, Response } from "express";
import type { Config } from "../config.js";
import { isLocale, type Locale, locales, type Message, regionalTags, translateMessage } from "../i18n.js";
import type { AuditEvent } from "../services/audit.js";
import { telUri } from "../services/phone-numbers.js";
import { wordsOf } from "./i18n-helpers.js";
import { canonicalAddress } from "./request-context.js";
import { describeBrowser, describeSecurityEvent } from "./security-words.js";

// Dates and times as the practice's users read them: in their language, in Amsterdam time. The
// formats are made once per language (Intl.DateTimeFormat is slow to build, quick to use).
const timeZone = "Europe/Amsterdam";
const formatsOf = (locale: Locale) => ({
  dateTime: new Intl.DateTimeFormat(regionalTags[locale], { dateStyle: "long", timeStyle: "short", timeZone }),
  date: new Intl.DateTimeFormat(regionalTags[locale], { dateStyle: "long", timeZone }),
  clock: new Intl.DateTimeFormat(regionalTags[locale], { timeStyle: "short", timeZone }),
});
const formats = Object.fromEntries(locales.map((locale) => [locale, formatsOf(locale)])) as Record<
  Locale,
  ReturnType<typeof formatsOf>
>;

/** "30 November 2026 at 21:30", "30 november 2026 om 21:30". */
export function formatDateTime(date: Date, locale: Locale = "en"): string {
  return formats[locale].dateTime.format(date);
}

/** "30 November 2026", "30 november 2026". */
export function formatDate(date: Date, locale: Locale = "en"): string {
  return formats[locale].date.format(date);
}

/**
 * A calendar date kept as YYYY-MM-DD (a date of birth), in words: "1 May 1950". Read at noon UTC,
 * which is the same day in Amsterdam whatever the season.
 */
export function formatCalendarDate(isoDate: string, locale: Locale = "en"): string {
  return formatDate(new Date(`${isoDate}T12:00:00Z`), locale);
}

/** "18:21": a time of day (Amsterdam time). */
export function formatClock(date: Date, locale: Locale = "en"): string {
  return formats[locale].clock.format(date);
}

/** An address as people know it: an IPv4 client seen through an IPv6 socket ("::ffff:127.0.0.1") plainly. */
export function formatIp(ip: string | null | undefined): string {
  return ip ? canonicalAddress(ip) : "—";
}

/** The language the request is answered in (see web/language.ts); the given one before detection ran. */
export function localeOf(req: Request, fallback: Locale = "en"): Locale {
  return isLocale(req.language) ? req.language : fallback;
}

/**
 * The locals that depend on the language: `t`, `lang` (for <html lang>), the date helpers and
 * `translate` (for a Message: a Phrase in this language, a plain string as it is). Set again when
 * the language changes during the request (the user's saved choice, read with the session).
 */
export function setLanguageLocals(req: Request, res: Response): void {
  const locale = localeOf(req);
  res.locals.lang = locale;
  res.locals.formatDateTime = (date: Date) => formatDateTime(date, locale);
  res.locals.formatDate = (date: Date) => formatDate(date, locale);
  res.locals.formatCalendarDate = (isoDate: string) => formatCalendarDate(isoDate, locale);
  res.locals.formatClock = (date: Date) => formatClock(date, locale);
  const words = wordsOf(req);
  // The middleware's t, or English where it did not run (see detectLanguage).
  res.locals.t = words;
  res.locals.translate = (message: Message) => translateMessage(words, message);
}

/** Locals every view may use. Mounted after the i18next middleware (web/language.ts). */
export function viewHelpers(config: Config): RequestHandler {
  const practicePhone = config.practicePhone
    ? { written: config.practicePhone, uri: telUri(config.practicePhone, config.phoneDefaultRegion) }
    : null;
  return (req, res, next) => {
    res.locals.portalName = config.portalName;
    res.locals.practicePhone = practicePhone;
    res.locals.currentPath = req.path;
    // Where the language switch returns to: this page (a form's page, when this answers a POST).
    res.locals.returnPath = req.method === "GET" && req.originalUrl.length <= 500 ? req.originalUrl : req.path;
    res.locals.user = undefined;
    res.locals.formatIp = formatIp;
    res.locals.describeEvent = (event: AuditEvent) => describeSecurityEvent(event, wordsOf(req));
    res.locals.describeBrowser = (userAgent: string | null) => describeBrowser(userAgent, wordsOf(req));
    setLanguageLocals(req, res);
    next();
  };
}

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import i18next, { type i18n, type Module } from "i18next";
import { isLocale, type Locale, locales } from "./config.js";
import { localesDir } from "./paths.js";

// The portal's words live in JSON catalogues, locales/<language>/<namespace>.json, one namespace
// per area (common, auth, phone…). They are read once, synchronously, when the instance is built:
// the first request finds every word in memory, and a missing or broken file stops start-up.

export { isLocale, type Locale, locales };

export type I18n = i18n;

/** Words with their values, to be translated later, when the language is known (a page, an SMS). */
export interface Phrase {
  /** "namespace:key.path", e.g. "auth:login.invalid". */
  key: string;
  /** Values for the {{placeholders}}; a value that is itself a Phrase is translated first. */
  values?: Record<string, unknown>;
}

/** Something to tell the user: a Phrase, or a sentence older code has already worded (shown as it is). */
export type Message = string | Phrase;

/** Words in one language: a catalogue key and its values give the text. */
export type Translate = (key: string, values?: Record<string, unknown>) => string;

/** Each language as Intl and Twilio's voices name it: the portal's users are in the Netherlands. */
export const regionalTags: Record<Locale, string> = { en: "en-GB", nl: "nl-NL" };

export type Catalogues = Record<Locale, Record<string, Record<string, unknown>>>;

/** Every catalogue file, by language and namespace (the file's name). */
export function readCatalogues(dir = localesDir): Catalogues {
  const catalogues = {} as Catalogues;
  for (const locale of locales) {
    const folder = path.join(dir, locale);
    catalogues[locale] = {};
    for (const file of readdirSync(folder).filter((name) => name.endsWith(".json"))) {
      catalogues[locale][path.basename(file, ".json")] = JSON.parse(readFileSync(path.join(folder, file), "utf8"));
    }
  }
  return catalogues;
}

/**
 * The portal's i18next instance, with every catalogue loaded. Built at the composition root
 * (createApp) and handed to whoever words things; nothing imports a shared one.
 */
export function createI18n({ defaultLocale, detector }: { defaultLocale: Locale; detector?: Module }): I18n {
  const catalogues = readCatalogues();
  const instance = i18next.createInstance();
  // The web layer's language detector (web/language.ts), for i18next-http-middleware.
  if (detector) instance.use(detector);
  void instance.init({
    resources: catalogues,
    ns: Object.keys(catalogues.en),
    defaultNS: "common",
    supportedLngs: [...locales],
    // The catalogues have the same keys in every language (test/unit/locales.test.ts).
    fallbackLng: defaultLocale,
    lng: defaultLocale,
    initAsync: false,
    // Views print with <%= %>, which escapes; escaping here as well would show "&amp;".
    interpolation: { escapeValue: false },
    returnNull: false,
    returnEmptyString: false,
  });
  return instance;
}

/** The words of one language, for texts that do not belong to a request (SMS, the phone call). */
export function translatorFor(instance: I18n, locale: Locale): Translate {
  const t = instance.getFixedT(locale);
  return (key, values) => String(t(key, values ?? {}));
}

/** Translates a Message: a Phrase in the given words, a plain string as it is. */
export function translateMessage(translate: Translate, message: Message): string {
  if (typeof message === "string") return message;
  return translate(message.key, translateValues(translate, message.values));
}

function translateValues(translate: Translate, values: Record<string, unknown> | undefined) {
  if (!values) return undefined;
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, isPhrase(value) ? translateMessage(translate, value) : value]),
  );
}

export function isPhrase(value: unknown): value is Phrase {
  return typeof value === "object" && value !== null && typeof (value as Phrase).key === "string";
}

/** A Phrase: words to translate when they are shown. */
export function phrase(key: string, values?: Record<string, unknown>): Phrase {
  return values ? { key, values } : { key };
}

let english: Translate | undefined;

/**
 * English from the catalogues, for the few places that have no request language: a response
 * made before the i18next middleware ran (or in an app built without it, as some tests do), and
 * older code that still needs a plain English string (see web/forms.ts). Built once, on first use.
 */
export function englishWords(): Translate {
  english ??= translatorFor(createI18n({ defaultLocale: "en" }), "en");
  return english;
}

import type { Request } from "express";
import { englishWords, isPhrase, type Message, type Phrase, phrase, type Translate, translateMessage } from "../i18n.js";

// How the web layer words things. Every user-facing word is in locales/<language>/<namespace>.json.
//
// - Words used at once, in a route:      req.t("auth:login.title")  or  wordsOf(req)(key, values)
// - Words kept for later (a notice in the session, a thrown HttpError, a form error, a link's
//   label): phrase("account:browsers.forgotOther", { browser }) — a Phrase is translated when it is
//   shown, in the language of the page that shows it. renderPage translates `title`, `notice`,
//   `error` and `errors`; views call translate(message) for anything else that may be a Phrase.
// - In a view:                            <%= t("auth:login.title") %>,  <%= translate(label) %>
// - Notices:                              setNotice(req, "account:browsers.forgotAll") (web/session.ts)

export { isPhrase, type Message, type Phrase, phrase };

/**
 * The request's words as a plain function (i18next's req.t, typed for strings). A request the
 * i18next middleware has not seen (an app built without it, in some tests) gets English.
 */
export function wordsOf(req: Request): Translate {
  if (typeof req.t !== "function") return englishWords();
  return (key, values) => String(req.t(key, values ?? {}));
}

/** A Message in the request's language: a Phrase translated, a plain string as it is. */
export function translate(req: Request, message: Message): string {
  return translateMessage(wordsOf(req), message);
}

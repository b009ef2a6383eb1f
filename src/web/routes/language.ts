import { type Request, Router } from "express";
import { z } from "zod";
import { type Config, locales } from "../../config.js";
import { HttpError } from "../../services/errors.js";
import type { UserLocales } from "../../services/user-locale.js";
import { field, parseForm } from "../forms.js";
import { phrase } from "../i18n-helpers.js";
import { languageCookieName } from "../language.js";
import { safeReturnPath } from "../middleware/guards.js";

const languageForm = z.object({
  lang: z.enum(locales, { error: "forms:errors.unknownLanguage" }),
  next: field(500, phrase("forms:labels.returnAddress")).optional(),
  _csrf: z.string().optional(),
});

/**
 * The user of this session, when fully signed in and theirs still (not ended elsewhere, not
 * disabled); else null. A password alone does not change the language of the user's SMS and calls.
 */
function sessionUserId(req: Request): number | null {
  const signedIn = req.sessionUser?.user;
  const isCurrent =
    !!signedIn &&
    req.session.stage === "complete" &&
    signedIn.id === req.session.userId &&
    (req.session.generation ?? 0) === signedIn.sessionGeneration &&
    !signedIn.disabledAt;
  return isCurrent ? signedIn.id : null;
}

/**
 * The language switch (views/partials/language-switch.ejs): POST /language with `lang` and the
 * page to return to. The choice is kept in a cookie for this browser and, for a signed-in user
 * (fully signed in), saved as theirs: it then comes first on every browser and for their SMS
 * and calls.
 */
export function languageRoutes({ userLocales, config }: { userLocales: UserLocales; config: Config }) {
  const router = Router();

  router.post("/language", async (req, res) => {
    const parsed = parseForm(languageForm, req.body);
    if (!parsed.ok) throw new HttpError(400, parsed.formError.message);
    const { lang } = parsed.data;
    res.cookie(languageCookieName, lang, {
      maxAge: 365 * 24 * 60 * 60_000,
      sameSite: "lax",
      httpOnly: true,
      secure: config.isProduction,
      path: "/",
    });
    const userId = sessionUserId(req);
    if (userId !== null) await userLocales.saveUserLocale(userId, lang);
    res.redirect(303, safeReturnPath(parsed.data.next, "/"));
  });

  return router;
}

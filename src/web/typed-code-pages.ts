import type { RequestHandler } from "express";
import { z } from "zod";
import type { MethodKind, TwoFactorService } from "../services/two-factor/index.js";
import { field, parseForm } from "./forms.js";
import { type Phrase, phrase } from "./i18n-helpers.js";
import type { LoginStep } from "./login-step.js";
import { renderPage } from "./render.js";
import { requestContext } from "./request-context.js";

export const codeForm = z.object({
  code: field(64, phrase("twoFactor:code.fieldName")).trim().min(1, "twoFactor:code.missing"),
  _csrf: z.string().optional(),
});

/**
 * The handlers of a login page where the user types what they have (the app's code, a recovery
 * code): the form, and its answer. The method's own routes register them.
 */
export function typedCodeLoginHandlers(
  { twoFactor, loginStep }: { twoFactor: TwoFactorService; loginStep: LoginStep },
  { kind, view, title }: { kind: MethodKind; view: string; title: Phrase },
): { showForm: RequestHandler; answer: RequestHandler } {
  return {
    async showForm(req, res) {
      if (!(await loginStep.requireEnrolled(req, res, kind))) return;
      renderPage(res, view, { title, error: null });
    },
    async answer(req, res) {
      const parsed = parseForm(codeForm, req.body);
      if (!parsed.ok) return renderPage(res, view, { title, error: parsed.formError }, 400);
      const result = await twoFactor.verifyLoginResponse(
        { userId: req.user!.id, attemptId: req.session.loginAttemptId, kind, response: parsed.data.code },
        requestContext(req),
      );
      await loginStep.answerVerification(req, res, { kind, result }, (error) => renderPage(res, view, { title, error }, 400));
    },
  };
}

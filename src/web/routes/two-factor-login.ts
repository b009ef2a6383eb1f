import { type NextFunction, type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Clock } from "../../services/clock.js";
import { HttpError } from "../../services/errors.js";
import type { LoginService } from "../../services/login.js";
import type { MethodKind, TwoFactorService, VerifyResult } from "../../services/two-factor/index.js";
import type { RecoveryCodes } from "../../services/two-factor/recovery-codes.js";
import type { UserService } from "../../services/users.js";
import { field, parseForm } from "../forms.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { restartWithNotice, startUserSession } from "../session.js";

const codeForm = z.object({ code: field(64).trim().min(1, "Enter the code."), _csrf: z.string().optional() });

export const attemptOverNotice = "Your login was not finished in time or was stopped. Please log in again.";
export const voidedNotice = "Too many wrong codes. For your safety, please log in again with your password.";

/** The pages between the password and the signed-in portal: choose a method, then prove it. */
export function twoFactorLoginRoutes({
  users,
  twoFactor,
  login,
  recoveryCodes,
  clock,
}: {
  users: UserService;
  twoFactor: TwoFactorService;
  login: LoginService;
  recoveryCodes: RecoveryCodes;
  clock: Clock;
}) {
  const router = Router();

  // Only a session that passed the password, with an open login attempt, may be here.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    res.set("Cache-Control", "no-store");
    if (req.session.stage === "complete") return res.redirect("/");
    if (req.session.stage !== "password" || !req.session.userId) return res.redirect("/login");
    const attempt = await twoFactor.findOpenAttempt(req.session.loginAttemptId, req.session.userId);
    const user = attempt ? await users.findUserById(req.session.userId) : null;
    if (!attempt || !user || user.disabledAt) {
      await restartWithNotice(req, attemptOverNotice);
      return res.redirect("/login");
    }
    req.user = user;
    res.locals.signOutOnly = true;
    next();
  });

  router.get("/", async (req, res) => {
    const methods = await twoFactor.listEnrolledMethods(req.user!.id);
    const lockedUntil = await twoFactor.findLockedUntil(req.user!.id);
    renderPage(res, "two-factor/choose", {
      title: "Second step",
      methods: methods.filter((method) => method.kind !== "recovery"),
      hasRecoveryCodes: methods.some((method) => method.kind === "recovery"),
      lockedUntil,
    });
  });

  async function finishLogin(req: Request, res: Response, kind: MethodKind) {
    const user = req.user!;
    await startUserSession(req, user, "complete", clock);
    await login.recordLoginSuccess(user, requestContext(req), kind);
    if (kind === "recovery") {
      const remaining = await recoveryCodes.countRemainingCodes(user.id);
      res.locals.user = user;
      return renderPage(res, "two-factor/recovery-used", { title: "Recovery code used", remaining });
    }
    res.redirect(303, "/");
  }

  async function answerVerification(req: Request, res: Response, result: VerifyResult, view: string, title: string) {
    switch (result.status) {
      case "passed":
        return finishLogin(req, res, result.method);
      case "wrong_code":
        return renderPage(
          res,
          view,
          {
            title,
            error: `That code is not right. ${result.attemptsLeft === 1 ? "1 try" : `${result.attemptsLeft} tries`} left.`,
          },
          400,
        );
      case "voided":
        await restartWithNotice(req, voidedNotice);
        return res.redirect(303, "/login");
      case "locked":
        await restartWithNotice(req, "Two-step login for your account is locked for a while after too many wrong codes.");
        throw new HttpError(429, "Too many wrong codes in a row: two-step login for your account is locked for 15 minutes.", {
          retryAt: result.until,
        });
      case "invalid_attempt":
        await restartWithNotice(req, attemptOverNotice);
        return res.redirect(303, "/login");
    }
  }

  // Methods where the user types what they got: the app's code, a recovery code.
  const typedMethods: { kind: MethodKind; path: string; view: string; title: string }[] = [
    { kind: "app", path: "/app", view: "two-factor/app-code", title: "Code from your app" },
    { kind: "recovery", path: "/recovery", view: "two-factor/recovery-code", title: "Recovery code" },
  ];

  for (const { kind, path, view, title } of typedMethods) {
    router.get(path, async (req, res) => {
      const method = twoFactor.findMethod(kind);
      if (!method || !(await method.isEnrolled(req.user!.id))) return res.redirect("/login/2fa");
      renderPage(res, view, { title, error: null });
    });

    router.post(path, async (req, res) => {
      const parsed = parseForm(codeForm, req.body);
      if (!parsed.ok) return renderPage(res, view, { title, error: parsed.error }, 400);
      const result = await twoFactor.verifyLoginResponse(
        { userId: req.user!.id, attemptId: req.session.loginAttemptId, kind, response: parsed.data.code },
        requestContext(req),
      );
      await answerVerification(req, res, result, view, title);
    });
  }

  return router;
}

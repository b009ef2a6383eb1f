import { type Request, Router } from "express";
import type { MethodRouteDeps } from "../../methods/routes.js";
import type { LoginService } from "../../services/login.js";
import type { SessionService } from "../../services/sessions.js";
import { enrolmentChoices } from "../enrolment-choices.js";
import { phrase } from "../i18n-helpers.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { startUserSession } from "../session.js";

/**
 * Forced enrolment, at /enrol (behind requireStage("enrol")): a user whose role requires a second
 * factor and who has none gets here right after the password and can reach nothing else (logout
 * aside) until a factor works. Each factor's pages are mounted beside it (methodEnrolmentRoutes).
 */
export function enrolRoutes(_deps: MethodRouteDeps) {
  const router = Router();
  router.get("/", (req, res) => {
    renderPage(res, "two-factor/enrol", {
      title: phrase("twoFactor:enrol.title"),
      ...enrolmentChoices(req.user!.role, "/enrol"),
    });
  });
  return router;
}

/**
 * Once the factor works, the session becomes fully signed in, under a new id, and any other
 * session of the user (a second enrolment page left open) ends.
 */
export function finishForcedEnrolment({
  login,
  clock,
  sessions,
}: Pick<MethodRouteDeps, "clock"> & { login: LoginService; sessions: SessionService }) {
  return async (req: Request) => {
    const user = req.user!;
    const returnTo = req.session.returnTo;
    const { generation } = await sessions.invalidateUserSessions(user.id, req.sessionID);
    await startUserSession(req, { ...user, sessionGeneration: generation }, "complete", clock);
    // The new session goes on to where the login was heading.
    if (returnTo) req.session.returnTo = returnTo;
    await login.recordLoginSuccess(user, requestContext(req), "enrolment");
  };
}

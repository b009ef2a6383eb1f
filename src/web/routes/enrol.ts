import { type NextFunction, type Request, type Response, Router } from "express";
import type { Clock } from "../../services/clock.js";
import type { LoginService } from "../../services/login.js";
import type { SessionService } from "../../services/sessions.js";
import type { UserService } from "../../services/users.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { restartWithNotice, startUserSession } from "../session.js";
import { type AppEnrolmentDeps, appEnrolmentRoutes } from "./app-enrolment.js";
import { type PhoneEnrolmentDeps, phoneEnrolmentRoutes } from "./phone-enrolment.js";

/**
 * Forced enrolment: a user whose role requires a second factor and who has none gets here right
 * after the password and can reach nothing else (logout aside) until a factor works.
 */
export function enrolRoutes(
  deps: AppEnrolmentDeps &
    PhoneEnrolmentDeps & { users: UserService; login: LoginService; sessions: SessionService; clock: Clock },
) {
  const { users, login, clock, twoFactor, sessions } = deps;
  const router = Router();

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    res.set("Cache-Control", "no-store");
    if (req.session.stage === "complete") return res.redirect("/");
    if (req.session.stage !== "enrol" || !req.session.userId) return res.redirect("/login");
    const user = await users.findUserById(req.session.userId);
    // This session may only set up the first factor: once the user has one (enrolled from another
    // session), or their sessions were revoked, it is over.
    const isStale =
      !user ||
      user.disabledAt ||
      (req.session.generation ?? 0) !== user.sessionGeneration ||
      (await twoFactor.hasSecondFactor(user.id));
    if (isStale) {
      await restartWithNotice(req, "Your session has ended. Please log in again.");
      return res.redirect("/login");
    }
    req.user = user;
    res.locals.user = user;
    res.locals.enrolling = true;
    next();
  });

  router.get("/", (_req, res) => {
    renderPage(res, "two-factor/enrol", { title: "Set up two-step login" });
  });

  // Once the factor works, the session becomes fully signed in, under a new id, and any other
  // session of the user (a second enrolment page left open) ends.
  async function finishEnrolment(req: Request, _res: Response) {
    const user = req.user!;
    const returnTo = req.session.returnTo;
    const { generation } = await sessions.invalidateUserSessions(user.id, req.sessionID);
    await startUserSession(req, { ...user, sessionGeneration: generation }, "complete", clock);
    // The new session goes on to where the login was heading.
    if (returnTo) req.session.returnTo = returnTo;
    await login.recordLoginSuccess(user, requestContext(req), "enrolment");
  }

  router.use("/app", appEnrolmentRoutes(deps, { basePath: "/enrol/app", onEnrolled: finishEnrolment }));
  router.use("/phone", phoneEnrolmentRoutes(deps, { basePath: "/enrol/phone", onEnrolled: finishEnrolment }));

  return router;
}

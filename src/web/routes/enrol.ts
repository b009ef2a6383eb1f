import { type NextFunction, type Request, type Response, Router } from "express";
import type { Clock } from "../../services/clock.js";
import type { LoginService } from "../../services/login.js";
import type { UserService } from "../../services/users.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { startUserSession } from "../session.js";
import { type AppEnrolmentDeps, appEnrolmentRoutes } from "./app-enrolment.js";
import { type PhoneEnrolmentDeps, phoneEnrolmentRoutes } from "./phone-enrolment.js";

/**
 * Forced enrolment: a user whose role requires a second factor and who has none gets here right
 * after the password and can reach nothing else (logout aside) until a factor works.
 */
export function enrolRoutes(
  deps: AppEnrolmentDeps & PhoneEnrolmentDeps & { users: UserService; login: LoginService; clock: Clock },
) {
  const { users, login, clock } = deps;
  const router = Router();

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    res.set("Cache-Control", "no-store");
    if (req.session.stage === "complete") return res.redirect("/");
    if (req.session.stage !== "enrol" || !req.session.userId) return res.redirect("/login");
    const user = await users.findUserById(req.session.userId);
    if (!user || user.disabledAt) return res.redirect("/login");
    req.user = user;
    res.locals.user = user;
    res.locals.enrolling = true;
    next();
  });

  router.get("/", (_req, res) => {
    renderPage(res, "two-factor/enrol", { title: "Set up two-step login" });
  });

  // Once the factor works, the session becomes fully signed in, under a new id.
  async function finishEnrolment(req: Request, _res: Response) {
    const user = req.user!;
    await startUserSession(req, user, "complete", clock);
    await login.recordLoginSuccess(user, requestContext(req), "enrolment");
  }

  router.use("/app", appEnrolmentRoutes(deps, { basePath: "/enrol/app", onEnrolled: finishEnrolment }));
  router.use("/phone", phoneEnrolmentRoutes(deps, { basePath: "/enrol/phone", onEnrolled: finishEnrolment }));

  return router;
}

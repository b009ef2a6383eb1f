import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Role } from "../../config.js";
import { ForbiddenError } from "../../services/errors.js";
import type { User, UserService } from "../../services/users.js";
import { regenerateSession } from "../session.js";

declare global {
  namespace Express {
    interface Request {
      /** The signed-in user, loaded fresh from the database on every request. */
      user?: User;
    }
  }
}

export function createGuards({ users }: { users: UserService }) {
  /** Lets through only a fully signed-in, enabled user; everything else goes to the right step. */
  const requireUser: RequestHandler = async (req: Request, res: Response, next: NextFunction) => {
    res.set("Cache-Control", "no-store");
    const current = req.session;
    if (!current?.userId) {
      return res.redirect(req.sessionExpired ? "/login?expired=1" : "/login");
    }
    if (current.stage !== "complete") return res.redirect("/login/2fa");
    const user = await users.findUserById(current.userId);
    if (!user || user.disabledAt) {
      await regenerateSession(req);
      return res.redirect("/login");
    }
    req.user = user;
    res.locals.user = user;
    next();
  };

  function requireRole(...roles: Role[]): RequestHandler {
    return (req, _res, next) => {
      if (!req.user || !roles.includes(req.user.role)) return next(new ForbiddenError());
      next();
    };
  }

  return { requireUser, requireRole };
}

import { randomBytes } from "node:crypto";
import connectPgSimple from "connect-pg-simple";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import session from "express-session";
import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { Logger } from "../logger.js";
import type { Clock } from "../services/clock.js";
import type { User } from "../services/users.js";

declare module "express-session" {
  interface SessionData {
    userId: number;
    /**
     * "password": only the password passed, the second factor is next; "enrol": the password
     * passed and the user must set up a second factor first; "complete": fully signed in.
     */
    stage: SessionStage;
    /** The login_attempts row of a login waiting for its second factor. */
    loginAttemptId: string;
    /** The attempt an SMS code for a step-up (confirming a security change) is bound to. */
    stepUpAttemptId: string;
    /** Ties a pending app enrolment to this session (see totp_enrolments.session_binding). */
    enrolmentBinding: string;
    /** The patient closed the invitation to set up two-step login. */
    twoFactorInviteDismissed: boolean;
    createdAt: number;
    /** The user's session generation when this session was issued; another value means revoked. */
    generation: number;
    lastSeenAt: number;
    /** Last time the user proved who they are (password or second factor): for step-up. */
    authenticatedAt: number;
    notice: string;
  }
}

declare global {
  namespace Express {
    interface Request {
      /** Set when the previous session ran out: the login page says so. */
      sessionExpired?: boolean;
    }
  }
}

export type SessionStage = "password" | "enrol" | "complete";

export const idleTimeoutMs = 15 * 60_000;
export const absoluteTimeoutMs = 8 * 60 * 60_000;

export function sessionCookieName(config: Config): string {
  // __Host- makes the browser insist on Secure, Path=/ and no Domain.
  return config.isProduction ? "__Host-portal.sid" : "portal.sid";
}

export function createSessionMiddleware({
  config,
  db,
  logger,
}: {
  config: Config;
  db: Database;
  logger: Logger;
}): RequestHandler {
  const PgStore = connectPgSimple(session);
  return session({
    name: sessionCookieName(config),
    secret: config.sessionSecret,
    store: new PgStore({
      pool: db.pool,
      tableName: "session",
      createTableIfMissing: false,
      // The app enforces the 15-minute idle and 8-hour absolute limits; the store keeps rows no longer.
      ttl: absoluteTimeoutMs / 1000,
      pruneSessionInterval: false,
      errorLog: (...args: unknown[]) => logger.warn({ detail: args.map(String).join(" ") }, "session store error"),
    }),
    resave: false,
    saveUninitialized: false,
    // Not "destroy": when loading a session fails (the database dropped the connection),
    // express-session would delete that session at the end of the request, logging the user out.
    unset: "keep",
    cookie: {
      httpOnly: true,
      sameSite: "lax",
      secure: config.isProduction,
      path: "/",
    },
  });
}

/** Ends a session that has been idle for 15 minutes or alive for 8 hours, whatever the cookie says. */
export function enforceSessionTimeouts(clock: Clock): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const current = req.session;
    if (!current?.userId) return next();
    const now = clock.now().getTime();
    const isIdle = now - (current.lastSeenAt ?? 0) >= idleTimeoutMs;
    const isTooOld = now - (current.createdAt ?? 0) >= absoluteTimeoutMs;
    if (isIdle || isTooOld) {
      await regenerateSession(req);
      req.sessionExpired = true;
      return next();
    }
    current.lastSeenAt = now;
    next();
  };
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.save((error) => (error ? reject(error) : resolve())));
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/**
 * Moves the user to a new session id (the old id is dead) at the given stage. Called after the
 * password step and again after the second factor, so no session id survives a privilege change.
 */
export async function startUserSession(req: Request, user: User, stage: SessionStage, clock: Clock): Promise<void> {
  const now = clock.now().getTime();
  const createdAt = req.session.userId === user.id && req.session.createdAt ? req.session.createdAt : now;
  await regenerateSession(req);
  req.session.userId = user.id;
  req.session.stage = stage;
  req.session.createdAt = createdAt;
  req.session.generation = user.sessionGeneration;
  req.session.lastSeenAt = now;
  req.session.authenticatedAt = now;
  await saveSession(req);
}

/** The value that ties a pending enrolment to this session, made when first needed. */
export function enrolmentBindingOf(req: Request): string {
  req.session.enrolmentBinding ??= randomBytes(16).toString("base64url");
  return req.session.enrolmentBinding;
}

/** Ends the session and starts an empty one that carries a message for the login page. */
export async function restartWithNotice(req: Request, notice: string): Promise<void> {
  await regenerateSession(req);
  req.session.notice = notice;
  await saveSession(req);
}

/** Takes the one-time message left for the next page, if any. */
export function takeNotice(req: Request): string | null {
  const notice = req.session?.notice ?? null;
  if (notice) delete req.session.notice;
  return notice;
}

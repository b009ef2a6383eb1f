import { randomBytes } from "node:crypto";
import connectPgSimple from "connect-pg-simple";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import session, { type SessionData } from "express-session";
import type { Config, Locale } from "../config.js";
import type { Database } from "../db/database.js";
import type { Logger } from "../logger.js";
import type { Clock } from "../services/clock.js";
import type { SessionService } from "../services/sessions.js";
import type { SignedInUser, User } from "../services/users.js";
import { type Message, type Phrase, phrase, translate } from "./i18n-helpers.js";

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
    /** A one-time message for the next page: words to translate when shown (a plain string from older code). */
    notice: Message;
  }
}

declare global {
  namespace Express {
    interface Request {
      /** Set when the previous session ran out: the login page says so. */
      sessionExpired?: boolean;
      /** The session's user and their second factors, read with the session (see createSessionMiddleware). */
      sessionUser?: SignedInUser;
      /** The language the session's user chose (users.locale), read with the session; none for a visitor. */
      savedLocale?: Locale;
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

// The user read with a session travels to the request on the session's data under this key;
// express-session copies only the string keys into req.session, so it is never stored back.
const userOfSession = Symbol("userOfSession");
const localeOfSession = Symbol("localeOfSession");

type LoadedData = session.SessionData & { [userOfSession]?: SignedInUser | null; [localeOfSession]?: Locale | null };

export function createSessionMiddleware({
  config,
  db,
  sessions,
  logger,
}: {
  config: Config;
  db: Database;
  /** Reads a session together with its user in one statement, and rewrites it in place. */
  sessions: SessionService;
  logger: Logger;
}): RequestHandler[] {
  const PgStore = connectPgSimple(session);
  /**
   * connect-pg-simple writes and deletes the rows; reading one also reads its user and their second
   * factors, so that a signed-in page needs no statement of its own to know who is asking.
   */
  class SessionStore extends PgStore {
    override get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
      sessions.findSessionWithUser(sid).then(
        (found) => {
          const data = found
            ? (Object.assign(found.data, {
                [userOfSession]: found.signedIn,
                [localeOfSession]: found.locale,
              }) as unknown as LoadedData)
            : null;
          process.nextTick(callback, null, data);
        },
        (error) => process.nextTick(callback, error),
      );
    }

    override createSession(req: Request, data: LoadedData) {
      const signedIn = data[userOfSession];
      const created = super.createSession(req, data);
      if (signedIn) req.sessionUser = signedIn;
      const savedLocale = data[localeOfSession];
      if (savedLocale) req.savedLocale = savedLocale;
      return created;
    }
  }
  const load = session({
    name: sessionCookieName(config),
    secret: config.sessionSecret,
    store: new SessionStore({
      pool: db.pool,
      tableName: "session",
      createTableIfMissing: false,
      // The app enforces the 15-minute idle and 8-hour absolute limits; the store keeps rows no longer.
      ttl: absoluteTimeoutMs / 1000,
      // Expired rows are removed by the retention job (services/retention.ts), and a page view
      // that changes nothing writes nothing: no "touch" of the row on every request.
      pruneSessionInterval: false,
      disableTouch: true,
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
  return [keepResponseEnd, load, storeSessionBeforeResponse(sessions, logger)];
}

// express-session saves a changed session only while the response is being sent: the headers
// go out first, and a browser follows a redirect the moment they arrive, so the next request
// could read the session from before the change. The session is therefore stored here, before
// anything of the response is written; express-session's own end-of-request save is bypassed.
const endBeforeSession = Symbol("endBeforeSession");
const sessionOrigin = Symbol("sessionOrigin");

interface SessionOrigin {
  /** The id the session had when this request loaded it. */
  loadedId: string;
  /** Whether it came from a stored row (a new session starts empty). */
  hadRow: boolean;
  /** The session as last stored (or as loaded), to tell whether it changed. */
  storedState: string;
  sessions: SessionService;
}

type SessionAwareResponse = Response & { [endBeforeSession]?: Response["end"] };
type SessionAwareRequest = Request & { [sessionOrigin]?: SessionOrigin };

const endingResponses = new WeakSet<Response>();

/** True once the response has been ended, even while its session is still being stored. */
export function isResponseEnding(res: Response): boolean {
  return res.headersSent || endingResponses.has(res);
}

function keepResponseEnd(_req: Request, res: SessionAwareResponse, next: NextFunction) {
  res[endBeforeSession] = res.end;
  next();
}

/** What a session holds, as the store would write it (the cookie's own fields aside). */
function stateOf(req: Request): string {
  const { cookie: _cookie, ...data } = req.session;
  return `${req.sessionID}:${JSON.stringify(data)}`;
}

function isEmpty(req: Request): boolean {
  const { cookie: _cookie, ...data } = req.session;
  return Object.keys(data).length === 0;
}

/**
 * Stores the session now. A session loaded from its row is rewritten only while that row still
 * exists: a page view finishing after a logout (or a revocation) in another tab must not bring
 * the ended session back. Resolves false when the row was gone.
 */
function storeSession(req: SessionAwareRequest, origin: SessionOrigin): Promise<boolean> {
  const state = stateOf(req);
  const remember = (stored: boolean) => {
    origin.storedState = state;
    return stored;
  };
  if (origin.hadRow && req.sessionID === origin.loadedId) {
    return origin.sessions.rewriteStoredSession(req.sessionID, req.session, absoluteTimeoutMs).then(remember);
  }
  return new Promise((resolve, reject) => req.session.save((error) => (error ? reject(error) : resolve(remember(true)))));
}

function storeSessionBeforeResponse(sessions: SessionService, logger: Logger): RequestHandler {
  return (req: SessionAwareRequest, res: SessionAwareResponse, next) => {
    const end = res[endBeforeSession] as (...args: unknown[]) => Response;
    const endThroughSessionLibrary = res.end as (...args: unknown[]) => Response;
    const origin: SessionOrigin = { loadedId: req.sessionID, hadRow: !isEmpty(req), storedState: stateOf(req), sessions };
    req[sessionOrigin] = origin;

    res.end = function endAfterStoringSession(this: Response, ...args: unknown[]) {
      if (endingResponses.has(this)) return this;
      endingResponses.add(this);
      // A destroyed session: express-session deletes its row (logout already awaited that).
      if (!req.session) return endThroughSessionLibrary.apply(this, args);
      if (stateOf(req) === origin.storedState) return end.apply(this, args);
      // An empty session that has no row (a visitor's, or one just regenerated) is not stored,
      // and gets no cookie.
      if (isEmpty(req) && (!origin.hadRow || req.sessionID !== origin.loadedId)) {
        req.session = null as unknown as Request["session"];
        return end.apply(this, args);
      }
      storeSession(req, origin).then(
        () => end.apply(this, args),
        (error) => {
          // Nothing of the page has been written yet: it becomes a 503 page instead, so the user
          // never goes on with a session that was not kept (and gets no cookie for it).
          logger.warn({ err: error }, "the session could not be stored; answering 503");
          req.session = null as unknown as Request["session"];
          respondUnavailable(this, end);
        },
      );
      return this;
    } as Response["end"];
    next();
  };
}

function respondUnavailable(res: Response, end: (...args: unknown[]) => Response) {
  for (const header of ["location", "content-length", "content-type", "etag", "last-modified", "content-disposition"]) {
    res.removeHeader(header);
  }
  const lang = escapeHtml(String(res.locals.lang ?? "en"));
  const title = escapeHtml(translate(res.req, phrase("errors:titles.503")));
  const message = escapeHtml(translate(res.req, phrase("errors:messages.sessionNotStored")));
  const body = `<!doctype html><html lang="${lang}"><meta charset="utf-8"><title>${title}</title><h1>${title}</h1><p>${message}</p></html>`;
  res.statusCode = 503;
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.setHeader("Retry-After", "30");
  res.setHeader("Content-Length", Buffer.byteLength(body));
  end.call(res, body);
}

/** lastSeenAt is written at most once a minute, so that a page view does not rewrite the session. */
export const lastSeenPrecisionMs = 60_000;

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
    if (now - (current.lastSeenAt ?? 0) >= lastSeenPrecisionMs) current.lastSeenAt = now;
    next();
  };
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
}

/** Stores the session now, before the action that depends on it is recorded. */
export function saveSession(req: Request): Promise<void> {
  const origin = (req as SessionAwareRequest)[sessionOrigin];
  if (!origin) return Promise.reject(new Error("the session middleware is not installed"));
  return storeSession(req, origin).then(() => undefined);
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve())));
}

/**
 * Moves the user to a new session id (the old id is dead) at the given stage. Called after the
 * password step and again after the second factor, so no session id survives a privilege change.
 * Like every session change, it is stored before the response goes out (see storeSessionBeforeResponse).
 */
export async function startUserSession(
  req: Request,
  user: User,
  stage: SessionStage,
  clock: Clock,
  fields: Partial<SessionData> = {},
): Promise<void> {
  const now = clock.now().getTime();
  const createdAt = req.session.userId === user.id && req.session.createdAt ? req.session.createdAt : now;
  await regenerateSession(req);
  Object.assign(req.session, {
    userId: user.id,
    stage,
    createdAt,
    generation: user.sessionGeneration,
    lastSeenAt: now,
    authenticatedAt: now,
    ...fields,
  });
  // Stored before the login is recorded as passed: a session that could not be kept is no login.
  await saveSession(req);
}

/** The value that ties a pending enrolment to this session, made when first needed. */
export function enrolmentBindingOf(req: Request): string {
  req.session.enrolmentBinding ??= randomBytes(16).toString("base64url");
  return req.session.enrolmentBinding;
}

/** Ends the session and starts an empty one that carries a message for the login page. */
export async function restartWithNotice(req: Request, notice: Message): Promise<void> {
  await regenerateSession(req);
  req.session.notice = notice;
}

/**
 * Leaves a one-time message for the next page: a catalogue key and its values, stored as they
 * are and translated when the page shows them (the user may switch language in between).
 * E.g. setNotice(req, "account:browsers.forgotOther", { browser: "Firefox on Windows" }).
 */
export function setNotice(req: Request, key: string, values?: Record<string, unknown>): void {
  req.session.notice = phrase(key, values) satisfies Phrase;
}

/** Takes the one-time message left for the next page, if any, in the page's language. */
export function takeNotice(req: Request): string | null {
  const notice = req.session?.notice ?? null;
  if (notice) delete req.session.notice;
  return notice ? translate(req, notice) : null;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

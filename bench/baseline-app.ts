// The reference the portal's signed-in pages are measured against: bare Express + EJS rendering the
// portal's own templates (views/layout.ejs around the page's view, with templates compiled once),
// behind the same session store (express-session with connect-pg-simple on the same PostgreSQL).
// Nothing else: no guard, no user lookup, no security headers, no request log. The data is fixed and
// the same as the demo patient's (src/services/demo.ts), so both serve the same page.
import { randomBytes } from "node:crypto";
import path from "node:path";
import connectPgSimple from "connect-pg-simple";
import express from "express";
import session from "express-session";
import type pg from "pg";
import { createI18n, type Message, translateMessage, translatorFor } from "../src/i18n.js";
import { formatCalendarDate, formatClock, formatDate, formatDateTime } from "../src/web/view-helpers.js";

const viewsDir = path.join(import.meta.dirname, "..", "views");
const portalName = "Portal";
const patient = { name: "Pat Jansen", role: "patient" };
const doctors = [{ name: "Dr. Eva Visser" }];

/** What the baseline keeps in a session, shaped like the portal's signed-in session. */
interface BaselineSession {
  userId?: number;
  stage?: string;
  createdAt?: number;
  lastSeenAt?: number;
  authenticatedAt?: number;
  generation?: number;
  csrfToken?: string;
  twoFactorInviteDismissed?: boolean;
}

function sessionOf(req: express.Request): BaselineSession {
  return req.session as unknown as BaselineSession;
}

// The portal's words in English, looked up once: a bare app with one language has no detection.
const words = translatorFor(createI18n({ defaultLocale: "en" }), "en");

// The factor rows of a user without two-step login, as the portal lists them.
const baselineFactors = [
  { name: "Mobile phone", hint: "SMS code or call", status: "Not set up", path: "phone" },
  { name: "Authenticator app", hint: null, status: "Not set up", path: "app" },
  { name: "Passkeys", hint: "Fingerprint, face, screen lock or security key", status: "Not set up", path: "passkey" },
  { name: "Recovery codes", hint: null, status: "Created when you turn on two-step login", path: null },
].map((factor, index) => ({
  ...factor,
  id: String(index),
  enrolment: factor.path ? { href: `/account/2fa/${factor.path}`, label: "Add", name: factor.name } : null,
  removal: null,
  manage: null,
}));

// Twenty events, as the security page shows at most.
const securityEvents = Array.from({ length: 20 }, (_, index) => ({
  at: new Date(Date.UTC(2025, 0, 1, 9, index)),
  what: "You logged in with your password",
  ip: "127.0.0.1",
  browser: "An unknown browser",
}));

const sessionTable = "bench_baseline_session";

/** The baseline's session table: the portal's (migrations/0001_foundation.sql) under its own name. */
export async function createBaselineSessionTable(pool: pg.Pool): Promise<void> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${sessionTable} (sid varchar NOT NULL PRIMARY KEY, sess json NOT NULL, expire timestamp(6) NOT NULL)`,
  );
  await pool.query(`CREATE INDEX IF NOT EXISTS ${sessionTable}_expire ON ${sessionTable} (expire)`);
}

/** The baseline app; its session table must exist (createBaselineSessionTable). */
export function createBaselineApp(pool: pg.Pool, sessionSecret: string): express.Express {
  const app = express();
  app.set("view engine", "ejs");
  app.set("views", viewsDir);
  app.enable("view cache");
  app.disable("x-powered-by");

  const PgStore = connectPgSimple(session);
  app.use(
    session({
      name: "portal.sid",
      secret: sessionSecret,
      store: new PgStore({
        pool,
        // Its own table, so that the portal's migrations cannot break it.
        tableName: sessionTable,
        createTableIfMissing: false,
        ttl: 8 * 60 * 60,
        pruneSessionInterval: false,
      }),
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: "lax", path: "/" },
    }),
  );

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  // Gives the caller a signed-in session: the bench's stand-in for the login.
  app.get("/sign-in", (req, res, next) => {
    const now = Date.now();
    Object.assign(sessionOf(req), {
      userId: 1,
      stage: "complete",
      createdAt: now,
      lastSeenAt: now,
      authenticatedAt: now,
      generation: 0,
      // As long as csrf-sync's tokens (128 random bytes), so sessions and pages are the same size.
      csrfToken: randomBytes(128).toString("hex"),
    } satisfies BaselineSession);
    req.session.save((error) => (error ? next(error) : res.send("signed in")));
  });

  app.use((req, res, next) => {
    const data = sessionOf(req);
    if (!data.userId) return res.redirect("/login");
    res.locals.portalName = portalName;
    res.locals.currentPath = req.path;
    res.locals.user = patient;
    res.locals.t = words;
    res.locals.lang = "en";
    res.locals.translate = (message: Message) => translateMessage(words, message);
    res.locals.returnPath = req.originalUrl;
    res.locals.formatDateTime = (date: Date) => formatDateTime(date, "en");
    res.locals.formatDate = (date: Date) => formatDate(date, "en");
    res.locals.formatCalendarDate = (isoDate: string) => formatCalendarDate(isoDate, "en");
    res.locals.formatClock = (date: Date) => formatClock(date, "en");
    res.locals.formatIp = (ip: string | null) => ip ?? "—";
    res.locals.practicePhone = null;
    res.locals.csrfToken = () => data.csrfToken ?? "";
    // What src/web/render.ts gives every page: no problems with a form.
    res.locals.errors = [];
    res.locals.errorFor = () => null;
    next();
  });

  app.get("/patient", (req, res) => {
    res.render("layout", {
      view: "home/patient",
      title: "Your page",
      doctors,
      showTwoFactorInvite: !sessionOf(req).twoFactorInviteDismissed,
      notice: null,
    });
  });

  app.get("/account/security", (_req, res) => {
    res.render("layout", {
      view: "account/security",
      title: "Security settings",
      notice: null,
      hasSecondFactor: false,
      defaultMethod: null,
      factors: baselineFactors,
      backupSuggestion: null,
      remembered: { isOffered: true, days: 30, browsers: [] },
      otherSessions: 49,
      events: securityEvents,
    });
  });

  return app;
}

import type { Config } from "../../config.js";
import type { Database } from "../../db/database.js";
import { type AuditLog, noRequestContext, type RequestContext } from "../../services/audit.js";
import { addMinutes, type Clock } from "../../services/clock.js";
import { decryptSecret, encryptSecret, SecretBoxError } from "../../services/secret-box.js";
import { normaliseDigitCode } from "../../services/two-factor/code-format.js";
import type { CodeTries, RefusedCode } from "../../services/two-factor/code-tries.js";
import type { LoginMethod, SecondFactor } from "../method.js";
import { appDefinition } from "./definition.js";
import { buildOtpauthUri, findTotpStep, formatSecretForDisplay, generateTotpSecret, renderQrCode } from "./totp-codes.js";

export const enrolmentLifetimeMinutes = 15;

export interface PendingAppEnrolment {
  secretForDisplay: string;
  otpauthUri: string;
  qrCode: { dataUrl: string; size: number };
  expiresAt: Date;
}

export type AppEnrolmentResult =
  | { status: "enrolled" }
  /** Not 6 digits: answered without a try. */
  | { status: "malformed" }
  /** No pending enrolment (any more) for this session. */
  | { status: "expired" }
  | RefusedCode;

export interface EnrolledApp {
  enrolledAt: Date;
}

export type TotpFactor = ReturnType<typeof createTotpFactor>;

/** The authenticator-app factor: enrolment by QR code, and login with the app's code. */
export function createTotpFactor({
  db,
  clock,
  config,
  codeTries,
  audit,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  codeTries: CodeTries;
  audit: AuditLog;
}) {
  // The user id is bound into the ciphertext: a secret copied to another user's row fails to open.
  const purposeOf = (userId: number) => `totp:user:${userId}`;
  const seal = (userId: number, secret: string) => encryptSecret(secret, config.encryptionKey, purposeOf(userId));
  const open = (userId: number, box: string) => decryptSecret(box, config.encryptionKey, purposeOf(userId)).toString("utf8");

  async function describePending(userId: number, email: string, box: string, expiresAt: Date): Promise<PendingAppEnrolment> {
    const secret = open(userId, box);
    const otpauthUri = buildOtpauthUri({ secret, issuer: config.portalName, accountName: email });
    return { secretForDisplay: formatSecretForDisplay(secret), otpauthUri, qrCode: await renderQrCode(otpauthUri), expiresAt };
  }

  /**
   * The pending enrolment of this user, kept in the database so a reload shows the same QR code;
   * a new one when there is none, it has expired, or `replace` asks for a new QR code.
   */
  async function startAppEnrolment(
    user: { id: number; email: string },
    replace = false,
    /** A value kept in the session that started the enrolment: only that session sees the secret. */
    sessionBinding = "",
    context: RequestContext = noRequestContext,
  ): Promise<{ enrolment: PendingAppEnrolment; isNew: boolean }> {
    const now = clock.now();
    if (!replace) {
      const { rows } = await db.query(
        "SELECT secret_box, expires_at FROM totp_enrolments WHERE user_id = $1 AND expires_at > $2 AND session_binding = $3",
        [user.id, now, sessionBinding],
      );
      if (rows[0]) {
        return {
          enrolment: await describePending(user.id, user.email, rows[0].secret_box as string, rows[0].expires_at as Date),
          isNew: false,
        };
      }
    }
    const box = seal(user.id, generateTotpSecret());
    const expiresAt = addMinutes(now, enrolmentLifetimeMinutes);
    await db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO totp_enrolments (user_id, secret_box, created_at, expires_at, session_binding) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id) DO UPDATE SET secret_box = EXCLUDED.secret_box, created_at = EXCLUDED.created_at,
           expires_at = EXCLUDED.expires_at, session_binding = EXCLUDED.session_binding`,
        [user.id, box, now, expiresAt, sessionBinding],
      );
      await audit.recordEvent(
        { type: "2fa.enrolment_started", actorUserId: user.id, subjectUserId: user.id, details: { method: "app" } },
        context,
        tx,
      );
    });
    return { enrolment: await describePending(user.id, user.email, box, expiresAt), isNew: true };
  }

  /**
   * Makes the pending app the user's factor when the code is right. The code's format is checked
   * first (no try taken), then it is counted like a login code. "expired" when there is no pending
   * enrolment any more (the page then shows a new QR code).
   */
  async function confirmAppEnrolment(
    userId: number,
    typed: string,
    sessionBinding = "",
    context: RequestContext = noRequestContext,
  ): Promise<AppEnrolmentResult> {
    const code = normaliseDigitCode(typed);
    if (code === null) return { status: "malformed" };
    const { rows } = await db.query(
      "SELECT secret_box FROM totp_enrolments WHERE user_id = $1 AND expires_at > $2 AND session_binding = $3",
      [userId, clock.now(), sessionBinding],
    );
    if (!rows[0]) return { status: "expired" };
    const box = rows[0].secret_box as string;
    const checked = await codeTries.checkCode(
      { userId, attemptId: null, kind: "app" },
      async () => {
        const step = await findTotpStep(open(userId, box), code, clock.now());
        return step === null ? { status: "wrong" as const } : { status: "right" as const, value: step };
      },
      context,
    );
    if (checked.status !== "right") return checked;
    return db.transaction(async (tx) => {
      // Only the request that removes the pending row enrols: a double submit enrols once.
      const removed = await tx.query("DELETE FROM totp_enrolments WHERE user_id = $1 AND secret_box = $2", [userId, box]);
      if (removed.rowCount !== 1) return { status: "expired" as const };
      await tx.query(
        `INSERT INTO totp_factors (user_id, secret_box, last_used_step, enrolled_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET secret_box = EXCLUDED.secret_box, last_used_step = EXCLUDED.last_used_step,
           enrolled_at = EXCLUDED.enrolled_at`,
        [userId, box, checked.value, clock.now()],
      );
      await audit.recordEvent(
        { type: "2fa.enrolment_completed", actorUserId: userId, subjectUserId: userId, details: { method: "app" } },
        context,
        tx,
      );
      return { status: "enrolled" as const };
    });
  }

  async function findEnrolledApp(userId: number): Promise<EnrolledApp | null> {
    const { rows } = await db.query("SELECT enrolled_at FROM totp_factors WHERE user_id = $1", [userId]);
    return rows[0] ? { enrolledAt: rows[0].enrolled_at as Date } : null;
  }

  const method: LoginMethod = {
    kind: "app",
    normaliseResponse: normaliseDigitCode,
    async verifyResponse({ userId, response }) {
      const { rows } = await db.query("SELECT secret_box FROM totp_factors WHERE user_id = $1", [userId]);
      if (!rows[0]) return "wrong";
      let secret: string;
      try {
        secret = open(userId, rows[0].secret_box as string);
      } catch (error) {
        // A tampered or foreign ciphertext: fail closed, the code is not accepted.
        if (error instanceof SecretBoxError) return "wrong";
        throw error;
      }
      const step = await findTotpStep(secret, response, clock.now());
      if (step === null) return "wrong";
      // Check-and-store in one statement: a step at or before the last used one is a replay, and of
      // two parallel requests with the same code only one can move last_used_step forward.
      const { rowCount } = await db.query(
        "UPDATE totp_factors SET last_used_step = $2 WHERE user_id = $1 AND last_used_step < $2",
        [userId, step],
      );
      return rowCount === 1 ? "right" : "replayed";
    },
  };

  const factor: SecondFactor = {
    ...appDefinition,
    methods: [method],
    async remove(userId, tx, item) {
      // The app has no items of its own to remove one by one.
      if (item !== undefined) return false;
      const { rowCount } = await tx.query("DELETE FROM totp_factors WHERE user_id = $1", [userId]);
      await tx.query("DELETE FROM totp_enrolments WHERE user_id = $1", [userId]);
      return rowCount > 0;
    },
    async pruneExpired(now) {
      const { rowCount } = await db.query("DELETE FROM totp_enrolments WHERE expires_at < $1", [now]);
      return { appEnrolments: rowCount };
    },
  };

  return { startAppEnrolment, confirmAppEnrolment, findEnrolledApp, method, factor };
}

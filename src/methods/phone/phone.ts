import { createHmac, randomBytes, randomInt } from "node:crypto";
import type { Config } from "../../config.js";
import type { Database, Queryable } from "../../db/database.js";
import { type PhoneFailure, type PhoneGateway, PhoneGatewayError } from "../../gateways/phone-gateway.js";
import type { Translate } from "../../i18n.js";
import { type AuditEventInput, type AuditLog, noRequestContext, type RequestContext } from "../../services/audit.js";
import { addMinutes, type Clock } from "../../services/clock.js";
import { deriveKey } from "../../services/keys.js";
import { maskPhoneNumber, phoneTail } from "../../services/phone-numbers.js";
import { normaliseDigitCode } from "../../services/two-factor/code-format.js";
import type { CodeTries, RefusedCode } from "../../services/two-factor/code-tries.js";
import type { PassResult } from "../../services/two-factor/index.js";
import type { ChallengeStart, LoginMethod, MethodKind, SecondFactor } from "../method.js";
import { phoneDefinition } from "./definition.js";
import { buildCodeMessage } from "./phone-messages.js";

// SMS codes and confirmation calls: one implementation that differs only in delivery.
// The properties of SECURITY.md ("Codes and factors", "The phone call and the provider",
// "Throttling and lock-outs"); the README gives the numbers.
export const smsCodeLifetimeMinutes = 5;
export const callLifetimeMinutes = 2;
export const resendAfterSeconds = 30;
// Enough for a patient's first day (prove the phone, log in by SMS, send again, log in again,
// then by call), few enough to make SMS pumping worthless.
export const sendWindowMinutes = 15;
export const sendsPerWindow = 6;
export const sendsPerDay = 15;
// Codes proving a number, counted per number over all accounts: nobody can pump SMS to a stranger's
// number, and these sends never count against the owner's login sends to it.
export const enrolSendsPerWindow = 3;
export const enrolSendsPerDay = 5;

export type Channel = "sms" | "call";

export interface PhoneChallenge {
  id: number;
  token: string;
  userId: number;
  attemptId: string | null;
  purpose: "login" | "enrol";
  channel: Channel;
  phone: string;
  status: string;
  deliveryStatus: string | null;
  createdAt: Date;
  expiresAt: Date;
}

export interface VerifiedPhone {
  phone: string;
  masked: string;
  verifiedAt: Date;
}

export type SendResult =
  | { status: "sent"; challenge: PhoneChallenge }
  /** A send limit is reached; possible again at retryAt. */
  | { status: "rate_limited"; retryAt: Date }
  /** "Send again" before 30 seconds have passed. */
  | { status: "too_soon"; retryAt: Date }
  /** No verified number, or the provider refused or did not answer (reason says which). */
  | { status: "failed"; reason: PhoneFailure | "no_phone" }
  /** Two-step login is locked after too many wrong codes: nothing is sent or placed. */
  | { status: "locked"; until: Date };

/** "locked": 1 was pressed while two-step login is locked, so nothing was approved. */
export type CallAnswer = "approved" | "denied" | "wrong-key" | "locked" | "not-pending";

/** A reached send limit: counted from since (its oldest send), possible again at retryAt. */
interface SendBlock {
  since: Date;
  retryAt: Date;
}

/** The limit that ends last, or null when none is reached. */
function latestOf(blocks: (SendBlock | null)[]): SendBlock | null {
  return blocks.reduce<SendBlock | null>(
    (latest, block) => (block && (!latest || block.retryAt > latest.retryAt) ? block : latest),
    null,
  );
}

function mapChallenge(row: Record<string, unknown>): PhoneChallenge {
  return {
    id: Number(row.id),
    token: row.token as string,
    userId: Number(row.user_id),
    attemptId: (row.login_attempt_id as string | null) ?? null,
    purpose: row.purpose as PhoneChallenge["purpose"],
    channel: row.channel as Channel,
    phone: row.phone_e164 as string,
    status: row.status as string,
    deliveryStatus: (row.delivery_status as string | null) ?? null,
    createdAt: row.created_at as Date,
    expiresAt: row.expires_at as Date,
  };
}

export type PhoneEnrolmentResult =
  | { status: "enrolled"; phone: string; previousPhone: string | null }
  /** Not 6 digits: answered without a try. */
  | { status: "malformed" }
  /** No code waiting for this number (any more): send a new one. */
  | { status: "expired" }
  | RefusedCode;

export type PhoneFactor = ReturnType<typeof createPhoneFactor>;

export function createPhoneFactor({
  db,
  clock,
  config,
  gateway,
  audit,
  codeTries,
  passLoginAttempt,
  phoneWords,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  gateway: PhoneGateway;
  audit: AuditLog;
  codeTries: CodeTries;
  /** Marks a login attempt passed unless two-step login is locked (the two-factor service's passAttempt). */
  passLoginAttempt: (attemptId: string, userId: number, kind: MethodKind, context: RequestContext) => Promise<PassResult>;
  /** The words of the SMS texts in the recipient's language (users.locale; null: the default language). */
  phoneWords: (locale: string | null) => Translate;
}) {
  const codeKey = deriveKey(config, "sms-codes");
  const webhookUrl = (kind: string, token: string) => `${config.publicBaseUrl}/webhooks/twilio/${kind}/${token}`;
  const codeMessage = (code: string, purpose: "login" | "enrol", locale: string | null) =>
    buildCodeMessage({
      words: phoneWords(locale),
      portalName: config.portalName,
      publicBaseUrl: config.publicBaseUrl,
      code,
      purpose,
      lifetimeMinutes: smsCodeLifetimeMinutes,
    });

  // The code is hashed together with what it is bound to: a code from one login attempt (session)
  // does not match in another.
  const hashCode = (bindTo: string, code: string) => createHmac("sha256", codeKey).update(`${bindTo}:${code}`).digest("hex");
  // A login code is bound to its attempt; a code proving a new number to the session that asked.
  const bindingOf = (purpose: "login" | "enrol", userId: number, attemptId: string | null, sessionBinding = "") =>
    purpose === "login" ? `login:${attemptId}` : `enrol:${userId}:${sessionBinding}`;

  async function findVerifiedPhone(userId: number): Promise<VerifiedPhone | null> {
    const { rows } = await db.query("SELECT phone_e164, verified_at FROM phone_factors WHERE user_id = $1", [userId]);
    if (!rows[0]) return null;
    const phone = rows[0].phone_e164 as string;
    return { phone, masked: maskPhoneNumber(phone), verifiedAt: rows[0].verified_at as Date };
  }

  /** The n-th most recent send in a window, when there were n: the limit is reached until it ages out. */
  async function findLimitBlock(
    tx: Queryable,
    where: string,
    params: unknown[],
    windowMinutes: number,
    limit: number,
  ): Promise<SendBlock | null> {
    const since = addMinutes(clock.now(), -windowMinutes);
    const { rows } = await tx.query(
      `SELECT created_at FROM phone_challenges WHERE ${where} AND created_at > $${params.length + 1}
       ORDER BY created_at DESC OFFSET ${limit - 1} LIMIT 1`,
      [...params, since],
    );
    const oldest = rows[0]?.created_at as Date | undefined;
    return oldest ? { since: oldest, retryAt: addMinutes(oldest, windowMinutes) } : null;
  }

  /** When this account may send again (its own sends, logins and enrolments), or null when now. */
  async function findAccountBlock(tx: Queryable, userId: number): Promise<SendBlock | null> {
    return latestOf([
      await findLimitBlock(tx, "user_id = $1", [userId], sendWindowMinutes, sendsPerWindow),
      await findLimitBlock(tx, "user_id = $1", [userId], 24 * 60, sendsPerDay),
    ]);
  }

  /**
   * When the limits shared across accounts (this number, the whole portal) allow a send again, or
   * null when now. A login send (only ever to the account's verified number) counts the login sends
   * to the number; a code proving a number counts the codes proving it, so that another account
   * adding a number cannot stop its owner's login.
   */
  async function findSharedBlock(tx: Queryable, purpose: "login" | "enrol", phone: string): Promise<SendBlock | null> {
    const [perWindow, perDay] = purpose === "login" ? [sendsPerWindow, sendsPerDay] : [enrolSendsPerWindow, enrolSendsPerDay];
    const where = "phone_e164 = $1 AND purpose = $2";
    return latestOf([
      await findLimitBlock(tx, where, [phone, purpose], sendWindowMinutes, perWindow),
      await findLimitBlock(tx, where, [phone, purpose], 24 * 60, perDay),
      config.phoneDailyLimit > 0
        ? await findLimitBlock(tx, "TRUE", [], 24 * 60, config.phoneDailyLimit)
        : { since: clock.now(), retryAt: addMinutes(clock.now(), 24 * 60) },
    ]);
  }

  /**
   * Records a new challenge if the limits allow and two-step login is not locked, replacing the
   * open one of the same kind. The user row is locked meanwhile, so parallel requests cannot both
   * slip under a limit.
   */
  async function createChallenge(input: {
    userId: number;
    attemptId: string | null;
    purpose: "login" | "enrol";
    channel: Channel;
    phone: string;
    code?: string;
    sessionBinding?: string;
    /** Written in the same transaction as the new challenge. */
    startedEvent?: { event: AuditEventInput; context: RequestContext };
  }): Promise<{ challenge: PhoneChallenge; recipientLocale: string | null } | { block: SendBlock } | { lockedUntil: Date }> {
    const now = clock.now();
    return db.transaction(async (tx) => {
      const user = await tx.query("SELECT second_factor_locked_until AS until, locale FROM users WHERE id = $1 FOR UPDATE", [
        input.userId,
      ]);
      const lockedUntil = (user.rows[0]?.until as Date | null) ?? null;
      if (lockedUntil && lockedUntil > now) return { lockedUntil };
      // The user row lock makes this account's own count exact: its refusal needs no portal-wide lock.
      const accountBlock = await findAccountBlock(tx, input.userId);
      if (accountBlock) {
        return { block: latestOf([accountBlock, await findSharedBlock(tx, input.purpose, input.phone)]) ?? accountBlock };
      }
      // The per-number and portal-wide limits span accounts: sends are checked one at a time.
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('portal:phone-sends'))");
      const block = await findSharedBlock(tx, input.purpose, input.phone);
      if (block) return { block };
      // A new code or call replaces the open one; the attempt's wrong-code count stays.
      await tx.query(
        `UPDATE phone_challenges SET status = 'replaced', finished_at = $5
         WHERE user_id = $1 AND purpose = $2 AND channel = $3 AND status = 'pending'
           AND login_attempt_id IS NOT DISTINCT FROM $4`,
        [input.userId, input.purpose, input.channel, input.attemptId, now],
      );
      const lifetime = input.channel === "sms" ? smsCodeLifetimeMinutes : callLifetimeMinutes;
      const { rows } = await tx.query(
        `INSERT INTO phone_challenges (token, user_id, login_attempt_id, purpose, channel, phone_e164, code_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          randomBytes(24).toString("base64url"),
          input.userId,
          input.attemptId,
          input.purpose,
          input.channel,
          input.phone,
          input.code ? hashCode(bindingOf(input.purpose, input.userId, input.attemptId, input.sessionBinding), input.code) : null,
          now,
          addMinutes(now, lifetime),
        ],
      );
      if (input.startedEvent) await audit.recordEvent(input.startedEvent.event, input.startedEvent.context, tx);
      return { challenge: mapChallenge(rows[0]!), recipientLocale: (user.rows[0]?.locale as string | null) ?? null };
    });
  }

  /** Hands the challenge to the provider; a provider failure marks it failed, audited, never thrown. */
  async function deliver(
    challenge: PhoneChallenge,
    send: () => Promise<{ providerId: string }>,
    context: RequestContext,
  ): Promise<SendResult> {
    const details = { channel: challenge.channel, purpose: challenge.purpose, phone: phoneTail(challenge.phone) };
    try {
      const { providerId } = await send();
      await db.transaction(async (tx) => {
        await tx.query(
          "UPDATE phone_challenges SET provider_id = $2, delivery_status = COALESCE(delivery_status, 'sent') WHERE id = $1",
          [challenge.id, providerId],
        );
        await audit.recordEvent(
          { type: "2fa.challenge_sent", actorUserId: challenge.userId, subjectUserId: challenge.userId, details },
          context,
          tx,
        );
      });
      return { status: "sent", challenge };
    } catch (error) {
      if (!(error instanceof PhoneGatewayError)) throw error;
      await db.transaction(async (tx) => {
        await tx.query(
          "UPDATE phone_challenges SET status = 'failed', delivery_status = 'failed', finished_at = $2 WHERE id = $1",
          [challenge.id, clock.now()],
        );
        await audit.recordEvent(
          {
            type: "2fa.challenge_failed",
            actorUserId: challenge.userId,
            subjectUserId: challenge.userId,
            details: { ...details, providerCode: error.providerCode ?? null },
          },
          context,
          tx,
        );
      });
      return { status: "failed", reason: error.reason };
    }
  }

  function newCode(): string {
    return String(randomInt(0, 1_000_000)).padStart(6, "0");
  }

  async function findLatestChallenge(
    userId: number,
    attemptId: string | null,
    channel: Channel,
    purpose: "login" | "enrol" = "login",
  ): Promise<PhoneChallenge | null> {
    const { rows } = await db.query(
      `SELECT * FROM phone_challenges WHERE user_id = $1 AND login_attempt_id IS NOT DISTINCT FROM $2 AND channel = $3 AND purpose = $4
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [userId, attemptId, channel, purpose],
    );
    return rows[0] ? mapChallenge(rows[0]) : null;
  }

  /** Sends a login code by SMS for this attempt (a resend replaces the previous code). */
  async function sendLoginCode(userId: number, attemptId: string, context: RequestContext): Promise<SendResult> {
    const phone = await findVerifiedPhone(userId);
    if (!phone) return { status: "failed", reason: "no_phone" };
    const latest = await findLatestChallenge(userId, attemptId, "sms");
    if (latest && latest.status === "pending") {
      const allowedAt = new Date(latest.createdAt.getTime() + resendAfterSeconds * 1000);
      if (allowedAt > clock.now()) return { status: "too_soon", retryAt: allowedAt };
    }
    const code = newCode();
    const created = await createChallenge({ userId, attemptId, purpose: "login", channel: "sms", phone: phone.phone, code });
    if ("lockedUntil" in created) return { status: "locked", until: created.lockedUntil };
    if ("block" in created) return rateLimited(userId, created.block, "sms", context);
    const body = codeMessage(code, "login", created.recipientLocale);
    return deliver(
      created.challenge,
      () => gateway.sendSms({ to: phone.phone, body, statusCallbackUrl: webhookUrl("message-status", created.challenge.token) }),
      context,
    );
  }

  /** Places the confirmation call for this attempt. */
  async function startLoginCall(userId: number, attemptId: string, context: RequestContext): Promise<SendResult> {
    const phone = await findVerifiedPhone(userId);
    if (!phone) return { status: "failed", reason: "no_phone" };
    const latest = await findLatestChallenge(userId, attemptId, "call");
    if (latest && latest.status === "pending" && latest.expiresAt > clock.now()) {
      const allowedAt = new Date(latest.createdAt.getTime() + resendAfterSeconds * 1000);
      if (allowedAt > clock.now()) return { status: "too_soon", retryAt: allowedAt };
    }
    const created = await createChallenge({ userId, attemptId, purpose: "login", channel: "call", phone: phone.phone });
    if ("lockedUntil" in created) return { status: "locked", until: created.lockedUntil };
    if ("block" in created) return rateLimited(userId, created.block, "call", context);
    const token = created.challenge.token;
    return deliver(
      created.challenge,
      () =>
        gateway.startCall({
          to: phone.phone,
          twimlUrl: webhookUrl("voice", token),
          statusCallbackUrl: webhookUrl("call-status", token),
          timeoutSeconds: 30,
        }),
      context,
    );
  }

  /** Audits a refusal once per limit: not when one was recorded since the limit's oldest send. */
  async function rateLimited(userId: number, block: SendBlock, channel: Channel, context: RequestContext): Promise<SendResult> {
    await audit.recordEventUnlessRecent(
      {
        type: "2fa.send_limited",
        actorUserId: userId,
        subjectUserId: userId,
        details: { channel, until: block.retryAt.toISOString() },
      },
      context,
      block.since,
    );
    return { status: "rate_limited", retryAt: block.retryAt };
  }

  /** Checks a normalised SMS code; consumes it atomically when right. */
  async function consumeCode(input: {
    userId: number;
    attemptId: string | null;
    purpose: "login" | "enrol";
    code: string;
    sessionBinding?: string;
  }): Promise<PhoneChallenge | null> {
    const { rows } = await db.query(
      `UPDATE phone_challenges SET status = 'used', finished_at = $5
       WHERE user_id = $1 AND login_attempt_id IS NOT DISTINCT FROM $2 AND purpose = $3 AND channel = 'sms'
         AND status = 'pending' AND expires_at > $5 AND code_hash = $4
       RETURNING *`,
      [
        input.userId,
        input.attemptId,
        input.purpose,
        hashCode(bindingOf(input.purpose, input.userId, input.attemptId, input.sessionBinding), input.code),
        clock.now(),
      ],
    );
    return rows[0] ? mapChallenge(rows[0]) : null;
  }

  async function findChallengeByToken(token: string): Promise<PhoneChallenge | null> {
    const { rows } = await db.query("SELECT * FROM phone_challenges WHERE token = $1", [token]);
    return rows[0] ? mapChallenge(rows[0]) : null;
  }

  /** The call with this token: whether it still waits for a key, and the language of the person called. */
  async function findCall(token: string): Promise<{ isWaiting: boolean; recipientLocale: string | null }> {
    const { rows } = await db.query(
      "SELECT c.*, u.locale AS recipient_locale FROM phone_challenges c JOIN users u ON u.id = c.user_id WHERE c.token = $1",
      [token],
    );
    const challenge = rows[0] ? mapChallenge(rows[0]) : null;
    const isWaiting = challenge?.channel === "call" && challenge.status === "pending" && challenge.expiresAt > clock.now();
    return { isWaiting, recipientLocale: (rows[0]?.recipient_locale as string | null | undefined) ?? null };
  }

  /** Whether the call with this token is still waiting for a key. */
  const isCallWaiting = async (token: string) => (await findCall(token)).isWaiting;

  /**
   * What the person on the phone pressed. The same function serves the Twilio gather webhook and
   * the development outbox. Acts only on its own challenge and only while it is pending, so a
   * replayed request changes nothing.
   */
  async function answerCall(token: string, digits: string, context: RequestContext): Promise<CallAnswer> {
    const now = clock.now();
    const pressed = digits === "1" ? "approved" : digits === "9" ? "denied" : "wrong-key";
    // While two-step login is locked, 1 approves nothing; 9 still reports "not me".
    const { rows } = await db.query(
      `UPDATE phone_challenges SET finished_at = $3,
         status = CASE WHEN $2 = 'approved' AND EXISTS (
           SELECT 1 FROM users WHERE users.id = phone_challenges.user_id AND second_factor_locked_until > $3
         ) THEN 'locked' ELSE $2 END
       WHERE token = $1 AND channel = 'call' AND status = 'pending' AND expires_at > $3 RETURNING *`,
      [token, pressed, now],
    );
    const challenge = rows[0] ? mapChallenge(rows[0]) : null;
    if (!challenge) return "not-pending";
    const details = { channel: "call", phone: phoneTail(challenge.phone) };
    if (challenge.status === "locked") return refuseLockedCall(challenge, context);
    if (pressed === "approved" && challenge.attemptId) {
      const passed = await passLoginAttempt(challenge.attemptId, challenge.userId, "call", context);
      if (passed.status === "locked") return refuseLockedCall(challenge, context);
      return passed.status === "passed" ? "approved" : "not-pending";
    }
    if (pressed === "denied") {
      if (challenge.attemptId) {
        await db.query("UPDATE login_attempts SET status = 'denied', finished_at = $2 WHERE id = $1 AND status = 'pending'", [
          challenge.attemptId,
          now,
        ]);
      }
      await audit.recordEvent(
        { type: "2fa.call_denied", subjectUserId: challenge.userId, details: { ...details, report: "not me" } },
        context,
      );
      return "denied";
    }
    await audit.recordEvent(
      { type: "2fa.code_refused", subjectUserId: challenge.userId, details: { method: "call", key: "other" } },
      context,
    );
    return "wrong-key";
  }

  /** 1 pressed while locked (or the lock came between the key and the approval): refused, audited. */
  async function refuseLockedCall(challenge: PhoneChallenge, context: RequestContext): Promise<CallAnswer> {
    await db.query("UPDATE phone_challenges SET status = 'locked' WHERE id = $1 AND status = 'approved'", [challenge.id]);
    await audit.recordEvent(
      {
        type: "2fa.call_refused_locked",
        subjectUserId: challenge.userId,
        details: { channel: "call", phone: phoneTail(challenge.phone) },
      },
      context,
    );
    return "locked";
  }

  const endedCallStatuses: Record<string, string> = {
    busy: "busy",
    "no-answer": "no-answer",
    failed: "failed",
    canceled: "failed",
    completed: "hung-up",
  };

  /** The provider's report on a call. Ends a pending challenge on busy, no answer, failure or hang-up. */
  async function recordCallStatus(token: string, callStatus: string): Promise<void> {
    const ended = endedCallStatuses[callStatus];
    if (ended) {
      await db.query(
        "UPDATE phone_challenges SET status = $2, delivery_status = $3, finished_at = $4 WHERE token = $1 AND channel = 'call' AND status = 'pending'",
        [token, ended, callStatus, clock.now()],
      );
    } else if (/^[a-z-]{1,20}$/.test(callStatus)) {
      await db.query(
        "UPDATE phone_challenges SET delivery_status = $2 WHERE token = $1 AND channel = 'call' AND status = 'pending'",
        [token, callStatus],
      );
    }
  }

  /** The provider's report on a text message (delivered, undelivered, failed…). */
  async function recordMessageStatus(token: string, messageStatus: string): Promise<void> {
    if (!/^[a-z-]{1,20}$/.test(messageStatus)) return;
    await db.query("UPDATE phone_challenges SET delivery_status = $2 WHERE token = $1 AND channel = 'sms'", [
      token,
      messageStatus,
    ]);
  }

  /** Sends a code to prove a new number. The number counts only after the code comes back. */
  async function startPhoneEnrolment(
    userId: number,
    phone: string,
    context: RequestContext,
    sessionBinding = "",
  ): Promise<SendResult> {
    const code = newCode();
    const created = await createChallenge({
      userId,
      attemptId: null,
      purpose: "enrol",
      channel: "sms",
      phone,
      code,
      sessionBinding,
      startedEvent: {
        event: {
          type: "2fa.enrolment_started",
          actorUserId: userId,
          subjectUserId: userId,
          details: { method: "sms", phone: phoneTail(phone) },
        },
        context,
      },
    });
    if ("lockedUntil" in created) return { status: "locked", until: created.lockedUntil };
    if ("block" in created) return rateLimited(userId, created.block, "sms", context);
    const body = codeMessage(code, "enrol", created.recipientLocale);
    return deliver(
      created.challenge,
      () => gateway.sendSms({ to: phone, body, statusCallbackUrl: webhookUrl("message-status", created.challenge.token) }),
      context,
    );
  }

  /**
   * Makes the proven number the user's phone. The code's format is checked first (no try taken),
   * then it is counted like a login code. Returns the number it replaced, if any.
   */
  async function confirmPhoneEnrolment(
    userId: number,
    typed: string,
    sessionBinding = "",
    context: RequestContext = noRequestContext,
  ): Promise<PhoneEnrolmentResult> {
    const code = normaliseDigitCode(typed);
    if (code === null) return { status: "malformed" };
    const pending = await findLatestChallenge(userId, null, "sms", "enrol");
    const isWaiting = pending?.status === "pending" && pending.expiresAt > clock.now();
    if (!isWaiting) return { status: "expired" };
    const checked = await codeTries.checkCode(
      { userId, attemptId: null, kind: "sms" },
      async () => {
        const challenge = await consumeCode({ userId, attemptId: null, purpose: "enrol", code, sessionBinding });
        return challenge ? { status: "right" as const, value: challenge } : { status: "wrong" as const };
      },
      context,
    );
    if (checked.status !== "right") return checked;
    const challenge = checked.value;
    return db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT phone_e164 FROM phone_factors WHERE user_id = $1 FOR UPDATE", [userId]);
      const previous = (rows[0]?.phone_e164 as string | undefined) ?? null;
      await tx.query(
        `INSERT INTO phone_factors (user_id, phone_e164, verified_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET phone_e164 = EXCLUDED.phone_e164, verified_at = EXCLUDED.verified_at`,
        [userId, challenge.phone, clock.now()],
      );
      await audit.recordEvent(
        {
          type: "2fa.enrolment_completed",
          actorUserId: userId,
          subjectUserId: userId,
          details: { method: "sms", phone: phoneTail(challenge.phone), changed: previous !== null },
        },
        context,
        tx,
      );
      return {
        status: "enrolled" as const,
        phone: challenge.phone,
        previousPhone: previous && previous !== challenge.phone ? previous : null,
      };
    });
  }

  /** A notice by SMS about a security change; a failure here must not undo the change. */
  async function sendSecurityNotice(phone: string, text: string): Promise<boolean> {
    try {
      await gateway.sendSms({ to: phone, body: `${config.portalName}: ${text}` });
      return true;
    } catch (error) {
      if (error instanceof PhoneGatewayError) return false;
      throw error;
    }
  }

  /** The verified number, read inside the caller's transaction (before a reset removes it). */
  async function findPhoneNumberIn(tx: Queryable, userId: number): Promise<string | null> {
    const { rows } = await tx.query("SELECT phone_e164 FROM phone_factors WHERE user_id = $1", [userId]);
    return (rows[0]?.phone_e164 as string | undefined) ?? null;
  }

  /** What a send for a login or step-up found, as the login and confirmation pages word it. */
  const asChallengeStart = (result: SendResult): ChallengeStart =>
    result.status === "sent"
      ? { status: "sent", at: result.challenge.createdAt, destination: maskPhoneNumber(result.challenge.phone) }
      : result;

  const smsMethod: LoginMethod = {
    kind: "sms",
    normaliseResponse: normaliseDigitCode,
    verifyResponse: async ({ userId, attemptId, response }) =>
      (await consumeCode({ userId, attemptId, purpose: "login", code: response })) ? "right" : "wrong",
    startChallenge: async (userId, attemptId, context) => asChallengeStart(await sendLoginCode(userId, attemptId, context)),
  };

  // The call has nothing to type: it is approved by the key pressed on the phone (answerCall).
  const callMethod: LoginMethod = {
    kind: "call",
    normaliseResponse: () => null,
    verifyResponse: async () => "wrong",
  };

  const factor: SecondFactor = {
    ...phoneDefinition,
    methods: [smsMethod, callMethod],
    async remove(userId, tx, item) {
      // A user has one number: there are no items to remove one by one.
      if (item !== undefined) return false;
      const { rowCount } = await tx.query("DELETE FROM phone_factors WHERE user_id = $1", [userId]);
      await tx.query(
        "UPDATE phone_challenges SET status = 'expired', finished_at = $2 WHERE user_id = $1 AND status = 'pending'",
        [userId, clock.now()],
      );
      return rowCount > 0;
    },
    async pruneExpired(_now, finishedBefore) {
      const { rowCount } = await db.query("DELETE FROM phone_challenges WHERE created_at < $1", [finishedBefore]);
      return { phoneChallenges: rowCount };
    },
  };

  return {
    factor,
    findVerifiedPhone,
    findLatestChallenge,
    findChallengeByToken,
    findCall,
    isCallWaiting,
    sendLoginCode,
    startLoginCall,
    answerCall,
    recordCallStatus,
    recordMessageStatus,
    startPhoneEnrolment,
    confirmPhoneEnrolment,
    sendSecurityNotice,
    findPhoneNumberIn,
  };
}

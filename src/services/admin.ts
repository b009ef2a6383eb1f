import type { Config, Role } from "../config.js";
import type { Database, Queryable } from "../db/database.js";
import { findLoginChoice } from "../methods/page-list.js";
import { type AuditEvent, type AuditLog, mapAuditRow, type RequestContext } from "./audit.js";
import type { Clock } from "./clock.js";
import { maskPhoneNumber } from "./phone-numbers.js";
import { isSecondFactorRequired } from "./policy.js";
import { mayRememberBrowsers, type RememberedBrowsers } from "./remembered-browsers.js";
import type { SessionService } from "./sessions.js";
import { includesSecondFactor, type MethodKind, type TwoFactorService } from "./two-factor/index.js";
import type { CreateUserResult, User, UserService } from "./users.js";

export interface AdminServiceDeps {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  users: UserService;
  sessions: SessionService;
  twoFactor: TwoFactorService;
  rememberedBrowsers: Pick<RememberedBrowsers, "forgetBrowsers">;
}

/**
 * Warns the phone number a user had before an admin reset their second factor ("your login
 * methods were reset; if you did not ask for this, call the practice"), so that a reset done for
 * someone who stole the account does not go unnoticed. Supplied by the phone factor's wiring.
 */
export interface OldPhoneWarning {
  /**
   * Runs inside the reset transaction, before any factor is removed, so the verified number can
   * still be read. Use the tx given: the embedded database holds one connection.
   */
  collectPhoneNumbers(userId: number, tx: Queryable): Promise<string[]>;
  /** Runs after the reset is committed; a failure is counted, it never undoes the reset. */
  sendResetWarning(phoneNumber: string, user: Pick<User, "id" | "name">, context: RequestContext): Promise<void>;
}

export interface AdminServiceOptions {
  /** Absent until phone factors exist: then nothing is sent. */
  oldPhoneWarning?: OldPhoneWarning;
}

export const usersPageSize = 25;
export const auditPageSize = 50;
/** More rows than this in one CSV export are refused: narrow the filters instead. */
export const auditExportLimit = 100_000;
export const maxResetReasonLength = 500;
/** How far back the user's page flags logins refused on the phone. */
export const refusedCallsFlagDays = 30;
/** Date filters on the audit log are calendar days of the practice (views show the same zone). */
export const practiceTimeZone = "Europe/Amsterdam";

// Which users have a real second factor, in SQL, for the user list and its filter (the factor
// interface answers per user only). A factor stored in a new table must be added here too.
const hasSecondFactorSql = `(EXISTS (SELECT 1 FROM totp_factors f WHERE f.user_id = u.id)
  OR EXISTS (SELECT 1 FROM phone_factors p WHERE p.user_id = u.id))`;

export interface UserFilters {
  /** Part of the name or email address, any case; "" for everyone. */
  search: string;
  role: Role | null;
  twoFactor: "on" | "off" | null;
  /** Login blocked after failed passwords, or the second factor locked after wrong codes, now. */
  locked: boolean | null;
  disabled: boolean | null;
}

export const noUserFilters: UserFilters = { search: "", role: null, twoFactor: null, locked: null, disabled: null };

export interface Page<T> {
  items: T[];
  total: number;
  /** 1-based; clamped to the last page. */
  page: number;
  pageCount: number;
  pageSize: number;
}

export interface UserListRow {
  id: number;
  name: string;
  email: string;
  role: Role;
  hasSecondFactor: boolean;
  isLocked: boolean;
  disabledAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

export interface UserDetails {
  user: User;
  /** The user's real second factors (recovery codes are counted apart), labelled as at login. */
  methods: { kind: MethodKind; label: string }[];
  appEnrolledAt: Date | null;
  phone: { masked: string; verifiedAt: Date } | null;
  recoveryCodesLeft: number;
  activeSessions: number;
  /** Set only while the block or lock is in force. */
  loginBlockedUntil: Date | null;
  secondFactorLockedUntil: Date | null;
  secondFactorFailures: number;
  isLocked: boolean;
  /** Whether anything is left for "unlock" to clear (a lock, or failures counting toward one). */
  canUnlock: boolean;
  /** Logins the user refused on the phone ("this was not me", 9) in the last 30 days: for the practice to follow up. */
  refusedCalls: { count: number; lastAt: Date | null };
  doctors: User[];
  patients: User[];
}

export type ActionResult<T extends object = object> =
  | ({ ok: true; message: string } & T)
  | { ok: false; status: 400 | 403 | 404; error: string };

export interface SecondFactorReset {
  user: Pick<User, "id" | "email" | "name" | "role">;
  removedMethods: { kind: MethodKind; label: string }[];
  recoveryCodesRemoved: number;
  sessionsEnded: number;
  /** The numbers collected by the OldPhoneWarning hook (full numbers: never log or show them). */
  removedPhoneNumbers: string[];
  phoneWarnings: { sent: number; failed: number };
  /** The user's role requires a second factor: they set up a new one at their next login. */
  mustEnrolAgain: boolean;
}

export interface AuditFilters {
  /** An email address or a user number: events where that user acted or was acted on. */
  user: string;
  /** An exact event type, e.g. "2fa.reset"; "" for all. */
  type: string;
  /** Calendar dates (YYYY-MM-DD) in the practice's time zone, both included; null for open. */
  from: string | null;
  to: string | null;
}

export const noAuditFilters: AuditFilters = { user: "", type: "", from: null, to: null };

export interface AuditListRow extends AuditEvent {
  actorEmail: string | null;
  subjectEmail: string | null;
}

export type AuditSearch = Page<AuditListRow> & {
  /** The user filter named nobody: the list is empty for that reason. */
  isUnknownUser: boolean;
};

export type AdminService = ReturnType<typeof createAdminService>;

function clampPage(page: number, pageCount: number): number {
  if (!Number.isSafeInteger(page) || page < 1) return 1;
  return Math.min(page, Math.max(pageCount, 1));
}

// OWASP "CSV injection": a piece of text that a spreadsheet may read as a cell of its own and that
// starts with = + - @ (full-width forms included) is a formula. A piece starts at the start of the
// value and after any separator a spreadsheet may split on (Dutch Excel splits on ";"), and some
// trim spaces first. A quote before the sign makes such a piece text.
const formulaStart = /(^|[;,\t\r\n])(\s*)(?=[=+\-@\uFF1D\uFF0B\uFF0D\uFF20])/g;

/** One CSV cell: always quoted, and defused wherever a spreadsheet could read a formula. */
export function formatCsvCell(value: string | null | undefined): string {
  const safe = (value ?? "").replace(formulaStart, "$1$2'");
  return `"${safe.replaceAll('"', '""')}"`;
}

export const auditCsvHeader = ["time", "event", "actor email", "subject email", "ip", "user agent", "details"];

export function formatAuditCsv(events: AuditListRow[]): string {
  const lines = [
    auditCsvHeader,
    ...events.map((event) => [
      event.occurredAt.toISOString(),
      event.type,
      event.actorEmail,
      event.subjectEmail,
      event.ip,
      event.userAgent,
      JSON.stringify(event.details),
    ]),
  ];
  // RFC 4180: CRLF between records.
  return `${lines.map((cells) => cells.map(formatCsvCell).join(",")).join("\r\n")}\r\n`;
}

/** What admins do to other accounts: every action here is audited. */
export function createAdminService(deps: AdminServiceDeps, options: AdminServiceOptions = {}) {
  const { db, clock, config, audit, users, sessions, twoFactor, rememberedBrowsers } = deps;

  /** The user's login methods that are a real second factor, with the words the pages give them. */
  async function listSecondFactorMethods(userId: number): Promise<{ kind: string; label: string }[]> {
    const kinds = (await twoFactor.listEnrolledKinds(userId)).filter((kind) => includesSecondFactor([kind]));
    return kinds.map((kind) => ({ kind, label: findLoginChoice(kind)?.label ?? kind }));
  }

  async function findLockState(userId: number, tx: Queryable = db) {
    const { rows } = await tx.query(
      `SELECT failed_login_count, login_blocked_until, second_factor_failures, second_factor_locked_until
       FROM users WHERE id = $1`,
      [userId],
    );
    const row = rows[0];
    if (!row) return null;
    const now = clock.now();
    const blocked = (row.login_blocked_until as Date | null) ?? null;
    const locked = (row.second_factor_locked_until as Date | null) ?? null;
    return {
      failedLoginCount: Number(row.failed_login_count),
      secondFactorFailures: Number(row.second_factor_failures),
      loginBlockedUntil: blocked && blocked > now ? blocked : null,
      secondFactorLockedUntil: locked && locked > now ? locked : null,
    };
  }

  async function listUsers(filters: UserFilters, page = 1): Promise<Page<UserListRow>> {
    const params: unknown[] = [clock.now()];
    const param = (value: unknown) => `$${params.push(value)}`;
    const isLockedSql = "(coalesce(u.login_blocked_until > $1, false) OR coalesce(u.second_factor_locked_until > $1, false))";
    const conditions: string[] = [];
    const search = filters.search.trim().toLowerCase();
    if (search) {
      const p = param(search);
      conditions.push(`(strpos(lower(u.name), ${p}) > 0 OR strpos(lower(u.email), ${p}) > 0)`);
    }
    if (filters.role) conditions.push(`u.role = ${param(filters.role)}`);
    if (filters.twoFactor === "on") conditions.push(hasSecondFactorSql);
    if (filters.twoFactor === "off") conditions.push(`NOT ${hasSecondFactorSql}`);
    if (filters.locked === true) conditions.push(isLockedSql);
    if (filters.locked === false) conditions.push(`NOT ${isLockedSql}`);
    if (filters.disabled === true) conditions.push("u.disabled_at IS NOT NULL");
    if (filters.disabled === false) conditions.push("u.disabled_at IS NULL");
    // $1 (now) is used only by the lock condition; keep its type known when it is not.
    const where = `WHERE $1::timestamptz IS NOT NULL${conditions.map((condition) => ` AND ${condition}`).join("")}`;

    const counted = await db.query(`SELECT count(*)::int AS n FROM users u ${where}`, params);
    const total = Number(counted.rows[0]?.n ?? 0);
    const pageCount = Math.max(1, Math.ceil(total / usersPageSize));
    const current = clampPage(page, pageCount);
    const { rows } = await db.query(
      `SELECT u.id, u.name, u.email, u.role, u.disabled_at, u.last_login_at, u.created_at,
         ${hasSecondFactorSql} AS has_second_factor, ${isLockedSql} AS is_locked
       FROM users u ${where}
       ORDER BY lower(u.name), u.id
       LIMIT ${param(usersPageSize)} OFFSET ${param((current - 1) * usersPageSize)}`,
      params,
    );
    return {
      items: rows.map((row) => ({
        id: Number(row.id),
        name: row.name as string,
        email: row.email as string,
        role: row.role as Role,
        hasSecondFactor: row.has_second_factor === true,
        isLocked: row.is_locked === true,
        disabledAt: (row.disabled_at as Date | null) ?? null,
        lastLoginAt: (row.last_login_at as Date | null) ?? null,
        createdAt: row.created_at as Date,
      })),
      total,
      page: current,
      pageCount,
      pageSize: usersPageSize,
    };
  }

  async function findUserDetails(userId: number): Promise<UserDetails | null> {
    const user = await users.findUserById(userId);
    const lockState = await findLockState(userId);
    if (!user || !lockState) return null;
    const enrolled = await listSecondFactorMethods(userId);
    const codes = await db.query("SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", [
      userId,
    ]);
    const isLocked = lockState.loginBlockedUntil !== null || lockState.secondFactorLockedUntil !== null;
    const app = await db.query("SELECT enrolled_at FROM totp_factors WHERE user_id = $1", [userId]);
    const phone = await db.query("SELECT phone_e164, verified_at FROM phone_factors WHERE user_id = $1", [userId]);
    const refused = await db.query(
      `SELECT count(*)::int AS n, max(occurred_at) AS last_at FROM audit_events
       WHERE subject_user_id = $1 AND event_type = '2fa.call_denied' AND occurred_at > $2`,
      [userId, new Date(clock.now().getTime() - refusedCallsFlagDays * 86_400_000)],
    );
    return {
      user,
      appEnrolledAt: (app.rows[0]?.enrolled_at as Date | undefined) ?? null,
      // Masked: an admin recognises the number with the user, never reads it out to a caller.
      phone: phone.rows[0]
        ? { masked: maskPhoneNumber(String(phone.rows[0].phone_e164)), verifiedAt: phone.rows[0].verified_at as Date }
        : null,
      methods: enrolled,
      recoveryCodesLeft: Number(codes.rows[0]?.n ?? 0),
      activeSessions: await sessions.countUserSessions(userId),
      loginBlockedUntil: lockState.loginBlockedUntil,
      secondFactorLockedUntil: lockState.secondFactorLockedUntil,
      secondFactorFailures: lockState.secondFactorFailures,
      isLocked,
      canUnlock: isLocked || lockState.failedLoginCount > 0 || lockState.secondFactorFailures > 0,
      refusedCalls: {
        count: Number(refused.rows[0]?.n ?? 0),
        lastAt: (refused.rows[0]?.last_at as Date | null) ?? null,
      },
      doctors: user.role === "patient" ? await users.listDoctorsOfPatient(userId) : [],
      patients: user.role === "doctor" ? await users.listPatientsOfDoctor(userId) : [],
    };
  }

  /** A user named by number ("42") or email address; null when there is none. */
  async function findUserByReference(reference: string): Promise<User | null> {
    const text = reference.trim();
    if (/^\d{1,15}$/.test(text)) return users.findUserById(Number(text));
    if (!text.includes("@")) return null;
    return users.findUserByEmail(text);
  }

  /** A new account with a first password chosen by the admin; the user must change it at first login. */
  async function createUserAccount(
    adminId: number,
    input: { email: string; name: string; role: Role; password: string },
    context: RequestContext,
  ): Promise<CreateUserResult> {
    const result = await users.createUser({ ...input, mustChangePassword: true }, context, adminId);
    if (result.ok) {
      await audit.recordEvent(
        {
          type: "admin.user_created",
          actorUserId: adminId,
          subjectUserId: result.user.id,
          details: { role: result.user.role, mustChangePassword: true },
        },
        context,
      );
    }
    return result;
  }

  const notFound = { ok: false, status: 404, error: "There is no user with that number." } as const;

  async function changeUserRole(
    adminId: number,
    userId: number,
    role: Role,
    context: RequestContext,
  ): Promise<ActionResult<{ sessionsEnded: number }>> {
    if (adminId === userId) {
      return { ok: false, status: 403, error: "You cannot change your own role. Ask another admin to do it." };
    }
    const outcome = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT role FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      const from = rows[0].role as Role;
      if (from === role) return { from, linksRemoved: 0, changed: false };
      await tx.query("UPDATE users SET role = $2 WHERE id = $1", [userId, role]);
      // Links to patients belong to doctors, and a doctor's list to patients: a link that no
      // longer fits the new role would come back to life if the role ever changed back.
      const links = await tx.query(
        `DELETE FROM doctor_patients WHERE ($2 <> 'doctor' AND doctor_id = $1) OR ($2 <> 'patient' AND patient_id = $1)`,
        [userId, role],
      );
      await audit.recordEvent(
        {
          type: "admin.role_changed",
          actorUserId: adminId,
          subjectUserId: userId,
          details: { from, to: role, linksRemoved: links.rowCount },
        },
        context,
        tx,
      );
      if (!mayRememberBrowsers(role, config)) {
        await rememberedBrowsers.forgetBrowsers(userId, "role_changed", context, { tx, actorUserId: adminId });
      }
      return { from, linksRemoved: links.rowCount, changed: true };
    });
    if (!outcome) return notFound;
    if (!outcome.changed) return { ok: true, message: `The role was already ${role}; nothing changed.`, sessionsEnded: 0 };
    // The user logs in again under the rules of the new role (a doctor or admin must have a
    // second factor), rather than keeping a session that was started under the old ones.
    const { count: sessionsEnded } = await sessions.invalidateUserSessions(userId);
    const needsEnrolment = isSecondFactorRequired(role, config) && !(await twoFactor.hasSecondFactor(userId));
    const parts = [`The role changed from ${outcome.from} to ${role}.`];
    if (sessionsEnded > 0) parts.push(`${plural(sessionsEnded, "active session")} ended.`);
    if (outcome.linksRemoved > 0) parts.push(`${outcome.linksRemoved} doctor–patient link(s) were removed.`);
    if (needsEnrolment) parts.push("They will set up two-step login at their next login.");
    return { ok: true, message: parts.join(" "), sessionsEnded };
  }

  async function disableUser(adminId: number, userId: number, context: RequestContext): Promise<ActionResult> {
    if (adminId === userId) return { ok: false, status: 403, error: "You cannot disable your own account." };
    const disabled = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT disabled_at FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      if (rows[0].disabled_at) return false;
      await tx.query("UPDATE users SET disabled_at = $2 WHERE id = $1", [userId, clock.now()]);
      await audit.recordEvent({ type: "admin.user_disabled", actorUserId: adminId, subjectUserId: userId }, context, tx);
      await rememberedBrowsers.forgetBrowsers(userId, "account_disabled", context, { tx, actorUserId: adminId });
      return true;
    });
    if (disabled === null) return notFound;
    // Also when it was disabled already: a session must not outlive a disabled account.
    const { count: ended } = await sessions.invalidateUserSessions(userId);
    if (!disabled) return { ok: true, message: "The account was already disabled." };
    return { ok: true, message: `The account is disabled; ${plural(ended, "active session")} ended.` };
  }

  async function enableUser(adminId: number, userId: number, context: RequestContext): Promise<ActionResult> {
    const enabled = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT disabled_at FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      if (!rows[0].disabled_at) return false;
      await tx.query("UPDATE users SET disabled_at = NULL WHERE id = $1", [userId]);
      await audit.recordEvent({ type: "admin.user_enabled", actorUserId: adminId, subjectUserId: userId }, context, tx);
      return true;
    });
    if (enabled === null) return notFound;
    return { ok: true, message: enabled ? "The account is enabled again." : "The account was not disabled." };
  }

  /** Clears the login block and the second-factor lock, with the counters that lead to them. */
  async function unlockUser(adminId: number, userId: number, context: RequestContext): Promise<ActionResult> {
    const unlocked = await db.transaction(async (tx) => {
      const before = await findLockState(userId, tx);
      if (!before) return null;
      await tx.query(
        `UPDATE users SET failed_login_count = 0, login_blocked_until = NULL,
           second_factor_failures = 0, second_factor_locked_until = NULL
         WHERE id = $1`,
        [userId],
      );
      await audit.recordEvent(
        {
          type: "admin.user_unlocked",
          actorUserId: adminId,
          subjectUserId: userId,
          details: {
            failedLoginCount: before.failedLoginCount,
            loginBlockedUntil: before.loginBlockedUntil?.toISOString() ?? null,
            secondFactorFailures: before.secondFactorFailures,
            secondFactorLockedUntil: before.secondFactorLockedUntil?.toISOString() ?? null,
          },
        },
        context,
        tx,
      );
      return true;
    });
    if (!unlocked) return notFound;
    return { ok: true, message: "The account is unlocked: the user can log in and use their second factor again." };
  }

  async function findDoctorAndPatient(doctorId: number, patientId: number) {
    const doctor = await users.findUserById(doctorId);
    const patient = await users.findUserById(patientId);
    if (!doctor || !patient) return { ok: false, status: 404, error: "There is no such doctor or patient." } as const;
    if (doctor.role !== "doctor") return { ok: false, status: 400, error: `${doctor.name} is not a doctor.` } as const;
    if (patient.role !== "patient") return { ok: false, status: 400, error: `${patient.name} is not a patient.` } as const;
    return { ok: true, doctor, patient } as const;
  }

  async function assignPatientToDoctor(
    adminId: number,
    doctorId: number,
    patientId: number,
    context: RequestContext,
  ): Promise<ActionResult> {
    const found = await findDoctorAndPatient(doctorId, patientId);
    if (!found.ok) return found;
    const added = await db.transaction(async (tx) => {
      const { rowCount } = await tx.query(
        "INSERT INTO doctor_patients (doctor_id, patient_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [doctorId, patientId, clock.now()],
      );
      if (rowCount !== 1) return false;
      await audit.recordEvent(
        { type: "admin.patient_assigned", actorUserId: adminId, subjectUserId: patientId, details: { doctorId, patientId } },
        context,
        tx,
      );
      return true;
    });
    const { doctor, patient } = found;
    return {
      ok: true,
      message: added
        ? `${patient.name} is now a patient of ${doctor.name}.`
        : `${patient.name} was already a patient of ${doctor.name}.`,
    };
  }

  async function unassignPatientFromDoctor(
    adminId: number,
    doctorId: number,
    patientId: number,
    context: RequestContext,
  ): Promise<ActionResult> {
    const removed = await db.transaction(async (tx) => {
      const { rowCount } = await tx.query("DELETE FROM doctor_patients WHERE doctor_id = $1 AND patient_id = $2", [
        doctorId,
        patientId,
      ]);
      if (rowCount !== 1) return false;
      await audit.recordEvent(
        { type: "admin.patient_unassigned", actorUserId: adminId, subjectUserId: patientId, details: { doctorId, patientId } },
        context,
        tx,
      );
      return true;
    });
    if (!removed) return { ok: false, status: 404, error: "That patient is not linked to that doctor." };
    return { ok: true, message: "The patient is no longer linked to the doctor." };
  }

  /**
   * Removes every second factor, recovery code and pending login attempt of the user and ends all
   * of their sessions, in one transaction with the audit event. adminId is null when no admin
   * could log in (the command line). Returns what was removed, so the old phone can be warned.
   */
  async function resetSecondFactor(
    adminId: number | null,
    userId: number,
    reason: string,
    context: RequestContext,
  ): Promise<ActionResult<{ reset: SecondFactorReset }>> {
    const why = reason.trim();
    if (!why) return { ok: false, status: 400, error: "Give the reason for the reset (for example: lost phone, new phone)." };
    if (why.length > maxResetReasonLength) {
      return { ok: false, status: 400, error: `The reason is too long: at most ${maxResetReasonLength} characters.` };
    }
    if (adminId !== null && adminId === userId) {
      return {
        ok: false,
        status: 403,
        error: "You cannot reset your own second factor. Ask another admin, or manage your methods in your security settings.",
      };
    }
    const user = await users.findUserById(userId);
    if (!user) return notFound;
    // Read before the transaction: the methods look in the database on their own connection.
    const removedMethods = await listSecondFactorMethods(userId);

    const outcome = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT id FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      const phoneNumbers = (await options.oldPhoneWarning?.collectPhoneNumbers(userId, tx)) ?? [];
      const codes = await tx.query("SELECT count(*)::int AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL", [
        userId,
      ]);
      const recoveryCodesRemoved = Number(codes.rows[0]?.n ?? 0);
      await twoFactor.removeAllFactors(userId, tx);
      // In the same transaction, so the sessions end together with the factors.
      const ended = await sessions.invalidateUserSessions(userId, null, tx);
      await rememberedBrowsers.forgetBrowsers(userId, "second_factor_reset", context, { tx, actorUserId: adminId });
      await audit.recordEvent(
        {
          type: "2fa.reset",
          actorUserId: adminId,
          subjectUserId: userId,
          details: {
            reason: why,
            removedMethods: removedMethods.map((method) => method.kind),
            recoveryCodesRemoved,
            sessionsEnded: ended.count,
          },
        },
        context,
        tx,
      );
      return { phoneNumbers, recoveryCodesRemoved, sessionsEnded: ended.count };
    });
    if (!outcome) return notFound;

    const phoneWarnings = { sent: 0, failed: 0 };
    for (const phoneNumber of outcome.phoneNumbers) {
      try {
        await options.oldPhoneWarning?.sendResetWarning(phoneNumber, user, context);
        phoneWarnings.sent += 1;
      } catch {
        phoneWarnings.failed += 1;
      }
    }
    const reset: SecondFactorReset = {
      user: { id: user.id, email: user.email, name: user.name, role: user.role },
      removedMethods,
      recoveryCodesRemoved: outcome.recoveryCodesRemoved,
      sessionsEnded: outcome.sessionsEnded,
      removedPhoneNumbers: outcome.phoneNumbers,
      phoneWarnings,
      mustEnrolAgain: isSecondFactorRequired(user.role, config),
    };
    return { ok: true, message: describeSecondFactorReset(reset), reset };
  }

  function buildAuditWhere(filters: AuditFilters, userId: number | null) {
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    const conditions: string[] = [];
    if (userId !== null) {
      const p = param(userId);
      conditions.push(`(e.actor_user_id = ${p} OR e.subject_user_id = ${p})`);
    }
    if (filters.type) conditions.push(`e.event_type = ${param(filters.type)}`);
    const zone = param(practiceTimeZone);
    if (filters.from) conditions.push(`e.occurred_at >= (${param(filters.from)}::date)::timestamp AT TIME ZONE ${zone}`);
    if (filters.to) conditions.push(`e.occurred_at < (${param(filters.to)}::date + 1)::timestamp AT TIME ZONE ${zone}`);
    // The zone parameter is always sent; keep its type known when no date uses it.
    conditions.push(`${zone}::text IS NOT NULL`);
    return { where: `WHERE ${conditions.join(" AND ")}`, params, param };
  }

  const auditSelect = `SELECT e.*, a.email AS actor_email, s.email AS subject_email
    FROM audit_events e
    LEFT JOIN users a ON a.id = e.actor_user_id
    LEFT JOIN users s ON s.id = e.subject_user_id`;

  function mapAuditListRow(row: Record<string, unknown>): AuditListRow {
    return {
      ...mapAuditRow(row),
      actorEmail: (row.actor_email as string | null) ?? null,
      subjectEmail: (row.subject_email as string | null) ?? null,
    };
  }

  /** The user the audit filter names: undefined for no filter, null for nobody. */
  async function resolveAuditUser(filters: AuditFilters): Promise<number | null | undefined> {
    if (!filters.user.trim()) return undefined;
    return (await findUserByReference(filters.user))?.id ?? null;
  }

  async function findAuditEvents(filters: AuditFilters, page = 1): Promise<AuditSearch> {
    const userId = await resolveAuditUser(filters);
    if (userId === null) return { items: [], total: 0, page: 1, pageCount: 1, pageSize: auditPageSize, isUnknownUser: true };
    const { where, params, param } = buildAuditWhere(filters, userId ?? null);
    const counted = await db.query(`SELECT count(*)::int AS n FROM audit_events e ${where}`, params);
    const total = Number(counted.rows[0]?.n ?? 0);
    const pageCount = Math.max(1, Math.ceil(total / auditPageSize));
    const current = clampPage(page, pageCount);
    const { rows } = await db.query(
      `${auditSelect} ${where} ORDER BY e.occurred_at DESC, e.id DESC
       LIMIT ${param(auditPageSize)} OFFSET ${param((current - 1) * auditPageSize)}`,
      params,
    );
    return {
      items: rows.map(mapAuditListRow),
      total,
      page: current,
      pageCount,
      pageSize: auditPageSize,
      isUnknownUser: false,
    };
  }

  async function listAuditEventTypes(): Promise<string[]> {
    const { rows } = await db.query("SELECT DISTINCT event_type FROM audit_events ORDER BY event_type");
    return rows.map((row) => row.event_type as string);
  }

  /** The filtered audit log as CSV, newest first; refused above auditExportLimit rows. */
  async function exportAuditEventsCsv(filters: AuditFilters): Promise<ActionResult<{ csv: string; rowCount: number }>> {
    const userId = await resolveAuditUser(filters);
    if (userId === null) return { ok: true, message: "", csv: formatAuditCsv([]), rowCount: 0 };
    const { where, params, param } = buildAuditWhere(filters, userId ?? null);
    const { rows } = await db.query(
      `${auditSelect} ${where} ORDER BY e.occurred_at DESC, e.id DESC LIMIT ${param(auditExportLimit + 1)}`,
      params,
    );
    if (rows.length > auditExportLimit) {
      return {
        ok: false,
        status: 400,
        error: `More than ${auditExportLimit.toLocaleString("en-GB")} events match. Choose a shorter date range or another filter.`,
      };
    }
    return { ok: true, message: "", csv: formatAuditCsv(rows.map(mapAuditListRow)), rowCount: rows.length };
  }

  return {
    listUsers,
    findUserDetails,
    findUserByReference,
    createUserAccount,
    changeUserRole,
    disableUser,
    enableUser,
    unlockUser,
    assignPatientToDoctor,
    unassignPatientFromDoctor,
    resetSecondFactor,
    findAuditEvents,
    listAuditEventTypes,
    exportAuditEventsCsv,
  };
}

/** A plain sentence about a reset, for the admin page and the command line. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

export function describeSecondFactorReset(reset: SecondFactorReset): string {
  const removed = [
    ...reset.removedMethods.map((method) => method.label.replace(/^With an? /i, "").replace(/^By /i, "")),
    ...(reset.recoveryCodesRemoved > 0 ? [plural(reset.recoveryCodesRemoved, "recovery code")] : []),
  ];
  const parts = [
    `Two-step login of ${reset.user.name} (${reset.user.email}) was reset.`,
    removed.length ? `Removed: ${removed.join(", ")}.` : "They had no methods or recovery codes.",
    `${plural(reset.sessionsEnded, "active session")} ended.`,
  ];
  if (reset.phoneWarnings.sent > 0) parts.push("The old phone number was warned by SMS.");
  if (reset.phoneWarnings.failed > 0) parts.push("Warning the old phone number failed.");
  parts.push(
    reset.mustEnrolAgain
      ? "They must set up a new method at their next login."
      : "They can log in with their password and set up a new method if they want.",
  );
  return parts.join(" ");
}

import type { Config, Role } from "../config.js";
import type { Database, Queryable } from "../db/database.js";
import type { AuditLog, RequestContext } from "./audit.js";
import type { Clock } from "./clock.js";
import { checkNewPassword, hashPassword, type PasswordProblem, verifyPassword } from "./passwords.js";
import type { RememberedBrowsers } from "./remembered-browsers.js";
import { enrolledFactorColumns, enrolledKindsOf, type MethodKind } from "./two-factor/index.js";

export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
  mustChangePassword: boolean;
  dateOfBirth: string | null;
  failedLoginCount: number;
  loginBlockedUntil: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
  disabledAt: Date | null;
  /** Sessions issued under another generation have been revoked. */
  sessionGeneration: number;
}

export function mapUserRow(row: Record<string, unknown>): User {
  return {
    id: Number(row.id),
    email: row.email as string,
    name: row.name as string,
    role: row.role as Role,
    passwordHash: row.password_hash as string,
    mustChangePassword: row.must_change_password as boolean,
    dateOfBirth: (row.date_of_birth as string | null) ?? null,
    failedLoginCount: Number(row.failed_login_count),
    loginBlockedUntil: (row.login_blocked_until as Date | null) ?? null,
    lastLoginAt: (row.last_login_at as Date | null) ?? null,
    createdAt: row.created_at as Date,
    disabledAt: (row.disabled_at as Date | null) ?? null,
    sessionGeneration: Number(row.session_generation ?? 0),
  };
}

// Dates of birth are plain calendar dates; keep them as YYYY-MM-DD text, never as a JS Date.
export const userColumns = `u.id, u.email, u.name, u.role, u.password_hash, u.must_change_password,
  to_char(u.date_of_birth, 'YYYY-MM-DD') AS date_of_birth, u.failed_login_count, u.login_blocked_until, u.last_login_at,
  u.created_at, u.disabled_at, u.session_generation`;

/** A user read for a signed-in request: the row and the kinds of second factor set up, in one query. */
export interface SignedInUser {
  user: User;
  factors: MethodKind[];
}

/** The columns of userColumns plus enrolledFactorColumns, for the user row `u`. */
export const signedInUserColumns = `${userColumns}, ${enrolledFactorColumns}`;

export function mapSignedInUser(row: Record<string, unknown>): SignedInUser {
  return { user: mapUserRow(row), factors: enrolledKindsOf(row) };
}

export interface NewUser {
  email: string;
  name: string;
  role: Role;
  password: string;
  mustChangePassword?: boolean;
  dateOfBirth?: string;
}

export type CreateUserResult =
  | { ok: true; user: User }
  | { ok: false; reason: "weak_password"; problem: PasswordProblem }
  | { ok: false; reason: "email_taken" };

export type PasswordChangeResult =
  | { ok: true }
  | { ok: false; reason: "weak_password"; problem: PasswordProblem }
  | { ok: false; reason: "same_as_current" };

export interface CreateUserOptions {
  /** Who created the account: null when nobody signed in did (the command line, the demo). */
  actorUserId?: number | null;
  /**
   * Runs inside the transaction that inserts the user, so that what it writes (an admin's audit
   * event) commits or rolls back with the account.
   */
  inTransaction?: (user: User, tx: Queryable) => Promise<void>;
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export type UserService = ReturnType<typeof createUserService>;

export function createUserService({
  db,
  clock,
  config,
  audit,
  rememberedBrowsers,
}: {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  rememberedBrowsers: Pick<RememberedBrowsers, "forgetBrowsers">;
}) {
  async function findUserById(id: number): Promise<User | null> {
    const { rows } = await db.query(`SELECT ${userColumns} FROM users u WHERE u.id = $1`, [id]);
    return rows[0] ? mapUserRow(rows[0]) : null;
  }

  async function findSignedInUser(id: number): Promise<SignedInUser | null> {
    const { rows } = await db.query(`SELECT ${signedInUserColumns} FROM users u WHERE u.id = $1`, [id]);
    return rows[0] ? mapSignedInUser(rows[0]) : null;
  }

  async function findUserByEmail(email: string): Promise<User | null> {
    const { rows } = await db.query(`SELECT ${userColumns} FROM users u WHERE lower(u.email) = $1`, [normaliseEmail(email)]);
    return rows[0] ? mapUserRow(rows[0]) : null;
  }

  async function createUser(input: NewUser, context: RequestContext, options: CreateUserOptions = {}): Promise<CreateUserResult> {
    const { actorUserId = null, inTransaction } = options;
    const email = normaliseEmail(input.email);
    const problem = checkNewPassword(input.password, input.role, email);
    if (problem) return { ok: false, reason: "weak_password", problem };
    const passwordHash = await hashPassword(input.password, config.bcryptCost);
    const user = await db.transaction(async (tx) => {
      const { rows } = await tx.query(
        `INSERT INTO users AS u (email, name, role, password_hash, must_change_password, date_of_birth, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT DO NOTHING
         RETURNING ${userColumns}`,
        [
          email,
          input.name.trim(),
          input.role,
          passwordHash,
          input.mustChangePassword ?? false,
          input.dateOfBirth ?? null,
          clock.now(),
        ],
      );
      if (!rows[0]) return null;
      const created = mapUserRow(rows[0]);
      await audit.recordEvent(
        { type: "user.created", actorUserId, subjectUserId: created.id, details: { role: created.role } },
        context,
        tx,
      );
      await inTransaction?.(created, tx);
      return created;
    });
    if (!user) return { ok: false, reason: "email_taken" };
    return { ok: true, user };
  }

  /** Sets a new password chosen by the user; clears a forced change. */
  async function changePassword(user: User, newPassword: string, context: RequestContext): Promise<PasswordChangeResult> {
    const problem = checkNewPassword(newPassword, user.role, user.email);
    if (problem) return { ok: false, reason: "weak_password", problem };
    if (await verifyPassword(newPassword, user.passwordHash)) return { ok: false, reason: "same_as_current" };
    const passwordHash = await hashPassword(newPassword, config.bcryptCost);
    await db.transaction(async (tx) => {
      await tx.query("UPDATE users SET password_hash = $2, must_change_password = false WHERE id = $1", [user.id, passwordHash]);
      await audit.recordEvent({ type: "password.changed", actorUserId: user.id, subjectUserId: user.id }, context, tx);
      // A browser remembered by someone who knew the old password must not outlive it.
      await rememberedBrowsers.forgetBrowsers(user.id, "password_changed", context, { tx });
    });
    return { ok: true };
  }

  async function listPatientsOfDoctor(doctorId: number): Promise<User[]> {
    const { rows } = await db.query(
      `SELECT ${userColumns} FROM users u JOIN doctor_patients dp ON dp.patient_id = u.id
       WHERE dp.doctor_id = $1 AND u.role = 'patient' ORDER BY u.name, u.id`,
      [doctorId],
    );
    return rows.map(mapUserRow);
  }

  /** The patient, only when linked to this doctor; null otherwise (the caller answers 404). */
  async function findPatientOfDoctor(doctorId: number, patientId: number): Promise<User | null> {
    const { rows } = await db.query(
      `SELECT ${userColumns} FROM users u JOIN doctor_patients dp ON dp.patient_id = u.id
       WHERE dp.doctor_id = $1 AND u.id = $2 AND u.role = 'patient'`,
      [doctorId, patientId],
    );
    return rows[0] ? mapUserRow(rows[0]) : null;
  }

  async function listDoctorsOfPatient(patientId: number): Promise<User[]> {
    const { rows } = await db.query(
      `SELECT ${userColumns} FROM users u JOIN doctor_patients dp ON dp.doctor_id = u.id
       WHERE dp.patient_id = $1 AND u.role = 'doctor' ORDER BY u.name, u.id`,
      [patientId],
    );
    return rows.map(mapUserRow);
  }

  async function linkPatientToDoctor(doctorId: number, patientId: number): Promise<void> {
    await db.query(`INSERT INTO doctor_patients (doctor_id, patient_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
      doctorId,
      patientId,
      clock.now(),
    ]);
  }

  return {
    findUserById,
    findSignedInUser,
    findUserByEmail,
    createUser,
    changePassword,
    listPatientsOfDoctor,
    findPatientOfDoctor,
    listDoctorsOfPatient,
    linkPatientToDoctor,
  };
}

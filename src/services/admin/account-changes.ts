import type { Role } from "../../config.js";
import type { RequestContext } from "../audit.js";
import { isSecondFactorRequired } from "../policy.js";
import { mayRememberBrowsers } from "../remembered-browsers.js";
import type { CreateUserResult } from "../users.js";
import type { AdminServiceDeps } from "./deps.js";
import { readLockState } from "./lock-state.js";
import type { Refusal, Success } from "./outcomes.js";

/**
 * Changes to an account: creating it, its role, disabling and enabling it, unlocking it. Each
 * change commits together with its audit event, and with the sessions it ends.
 */
export function createAccountChanges(deps: AdminServiceDeps) {
  const { db, clock, config, audit, users, sessions, twoFactor, rememberedBrowsers } = deps;
  const notFound: Refusal<"user_not_found"> = { ok: false, reason: "user_not_found" };

  /** A new account with a first password chosen by the admin; the user must change it at first login. */
  async function createUserAccount(
    adminId: number,
    input: { email: string; name: string; role: Role; password: string },
    context: RequestContext,
  ): Promise<CreateUserResult> {
    return users.createUser({ ...input, mustChangePassword: true }, context, {
      actorUserId: adminId,
      inTransaction: (user, tx) =>
        audit.recordEvent(
          {
            type: "admin.user_created",
            actorUserId: adminId,
            subjectUserId: user.id,
            details: { role: user.role, mustChangePassword: true },
          },
          context,
          tx,
        ),
    });
  }

  async function changeUserRole(
    adminId: number,
    userId: number,
    role: Role,
    context: RequestContext,
  ): Promise<Success<"role_changed" | "role_unchanged"> | Refusal<"own_role" | "user_not_found">> {
    if (adminId === userId) return { ok: false, reason: "own_role" };
    const outcome = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT role FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      const from = rows[0].role as Role;
      if (from === role) return { changed: false } as const;
      await tx.query("UPDATE users SET role = $2 WHERE id = $1", [userId, role]);
      // Links to patients belong to doctors, and a doctor's list to patients: a link that no
      // longer fits the new role would come back to life if the role ever changed back.
      const links = await tx.query(
        `DELETE FROM doctor_patients WHERE ($2 <> 'doctor' AND doctor_id = $1) OR ($2 <> 'patient' AND patient_id = $1)`,
        [userId, role],
      );
      // The user logs in again under the rules of the new role (a doctor or admin must have a
      // second factor), rather than keeping a session that was started under the old ones.
      const { count: sessionsEnded } = await sessions.invalidateUserSessions(userId, null, tx);
      if (!mayRememberBrowsers(role, config)) {
        await rememberedBrowsers.forgetBrowsers(userId, "role_changed", context, { tx, actorUserId: adminId });
      }
      await audit.recordEvent(
        {
          type: "admin.role_changed",
          actorUserId: adminId,
          subjectUserId: userId,
          details: { from, to: role, linksRemoved: links.rowCount, sessionsEnded },
        },
        context,
        tx,
      );
      return { changed: true, from, linksRemoved: links.rowCount, sessionsEnded } as const;
    });
    if (!outcome) return notFound;
    if (!outcome.changed) return { ok: true, outcome: "role_unchanged", role };
    const mustEnrol = isSecondFactorRequired(role, config) && !(await twoFactor.hasSecondFactor(userId));
    return {
      ok: true,
      outcome: "role_changed",
      from: outcome.from,
      to: role,
      sessionsEnded: outcome.sessionsEnded,
      linksRemoved: outcome.linksRemoved,
      mustEnrol,
    };
  }

  async function disableUser(
    adminId: number,
    userId: number,
    context: RequestContext,
  ): Promise<Success<"disabled" | "already_disabled"> | Refusal<"own_account_disabled" | "user_not_found">> {
    if (adminId === userId) return { ok: false, reason: "own_account_disabled" };
    const outcome = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT disabled_at FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      const wasDisabled = rows[0].disabled_at !== null;
      if (!wasDisabled) {
        await tx.query("UPDATE users SET disabled_at = $2 WHERE id = $1", [userId, clock.now()]);
        await rememberedBrowsers.forgetBrowsers(userId, "account_disabled", context, { tx, actorUserId: adminId });
      }
      // Also when it was disabled already: a session must not outlive a disabled account.
      const { count: sessionsEnded } = await sessions.invalidateUserSessions(userId, null, tx);
      if (!wasDisabled) {
        await audit.recordEvent(
          { type: "admin.user_disabled", actorUserId: adminId, subjectUserId: userId, details: { sessionsEnded } },
          context,
          tx,
        );
      }
      return { wasDisabled, sessionsEnded };
    });
    if (!outcome) return notFound;
    return { ok: true, outcome: outcome.wasDisabled ? "already_disabled" : "disabled", sessionsEnded: outcome.sessionsEnded };
  }

  async function enableUser(
    adminId: number,
    userId: number,
    context: RequestContext,
  ): Promise<Success<"enabled" | "not_disabled"> | Refusal<"user_not_found">> {
    const enabled = await db.transaction(async (tx) => {
      const { rows } = await tx.query("SELECT disabled_at FROM users WHERE id = $1 FOR UPDATE", [userId]);
      if (!rows[0]) return null;
      if (!rows[0].disabled_at) return false;
      await tx.query("UPDATE users SET disabled_at = NULL WHERE id = $1", [userId]);
      await audit.recordEvent({ type: "admin.user_enabled", actorUserId: adminId, subjectUserId: userId }, context, tx);
      return true;
    });
    if (enabled === null) return notFound;
    return { ok: true, outcome: enabled ? "enabled" : "not_disabled" };
  }

  /** Clears the login block and the second-factor lock, with the counters that lead to them. */
  async function unlockUser(
    adminId: number,
    userId: number,
    context: RequestContext,
  ): Promise<Success<"unlocked"> | Refusal<"user_not_found">> {
    const unlocked = await db.transaction(async (tx) => {
      const before = await readLockState(tx, userId, clock.now());
      if (!before) return false;
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
    return { ok: true, outcome: "unlocked" };
  }

  return { createUserAccount, changeUserRole, disableUser, enableUser, unlockUser };
}

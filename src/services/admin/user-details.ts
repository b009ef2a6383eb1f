import type { MethodKind } from "../two-factor/index.js";
import type { User } from "../users.js";
import type { AdminServiceDeps } from "./deps.js";
import { type FactorFact, listSecondFactorKinds, readFactorFacts } from "./factor-facts.js";
import { readLockState } from "./lock-state.js";

/** How far back the user's page flags logins refused on the phone. */
export const refusedCallsFlagDays = 30;

export interface UserDetails {
  user: User;
  /** The login methods of the user's real second factors (recovery codes are counted apart). */
  methods: MethodKind[];
  /** Each factor set up, and since when. */
  factors: FactorFact[];
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

/** What an admin sees of one user. */
export function createUserDetails({
  db,
  clock,
  users,
  sessions,
  twoFactor,
}: Pick<AdminServiceDeps, "db" | "clock" | "users" | "sessions" | "twoFactor">) {
  /** Everything the user's page shows, about a user already loaded; null when the user is gone meanwhile. */
  async function findUserDetails(user: User): Promise<UserDetails | null> {
    const lockState = await readLockState(db, user.id, clock.now());
    if (!lockState) return null;
    const methods = await listSecondFactorKinds(twoFactor, user.id);
    const { factors, recoveryCodesLeft } = await readFactorFacts(db, user.id);
    const refused = await db.query(
      `SELECT count(*)::int AS n, max(occurred_at) AS last_at FROM audit_events
       WHERE subject_user_id = $1 AND event_type = '2fa.call_denied' AND occurred_at > $2`,
      [user.id, new Date(clock.now().getTime() - refusedCallsFlagDays * 86_400_000)],
    );
    const isLocked = lockState.loginBlockedUntil !== null || lockState.secondFactorLockedUntil !== null;
    return {
      user,
      methods,
      factors,
      recoveryCodesLeft,
      activeSessions: await sessions.countUserSessions(user.id),
      loginBlockedUntil: lockState.loginBlockedUntil,
      secondFactorLockedUntil: lockState.secondFactorLockedUntil,
      secondFactorFailures: lockState.secondFactorFailures,
      isLocked,
      canUnlock: isLocked || lockState.failedLoginCount > 0 || lockState.secondFactorFailures > 0,
      refusedCalls: {
        count: Number(refused.rows[0]?.n ?? 0),
        lastAt: (refused.rows[0]?.last_at as Date | null) ?? null,
      },
      doctors: user.role === "patient" ? await users.listDoctorsOfPatient(user.id) : [],
      patients: user.role === "doctor" ? await users.listPatientsOfDoctor(user.id) : [],
    };
  }

  /** A user named by number ("42") or email address; null when there is none. */
  async function findUserByReference(reference: string): Promise<User | null> {
    const text = reference.trim();
    if (/^\d{1,15}$/.test(text)) return users.findUserById(Number(text));
    if (!text.includes("@")) return null;
    return users.findUserByEmail(text);
  }

  return { findUserDetails, findUserByReference };
}

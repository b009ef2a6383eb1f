import type { Queryable } from "../db/database.js";
import type { RequestContext } from "../services/audit.js";

// What every second factor provides, so that the login, step-up, the security and admin pages, the
// "last method" rule and the admin reset work through the registry (registry.ts) and never name a
// factor. A new factor is one folder here, a migration and a line in list.ts.

/** One way to pass the second step: "app", "sms", "call", "recovery", "passkey". */
export type MethodKind = string;

/** What checking a response found: right, wrong, or a code already used (not a guess). */
export type ResponseCheck = "right" | "wrong" | "replayed";

/** What asking for a code or a call found (a factor that sends something). */
export type ChallengeStart =
  /** Sent at `at` to `destination` (as the user may see it: a masked number). */
  | { status: "sent"; at: Date; destination: string }
  /** A send limit is reached; possible again at retryAt. */
  | { status: "rate_limited"; retryAt: Date }
  /** "Send again" too soon after the previous one. */
  | { status: "too_soon"; retryAt: Date }
  /** Nothing to send to, or the provider refused or did not answer: the factor's own reason, which its pages word. */
  | { status: "failed"; reason: string }
  /** Two-step login is locked after too many wrong codes: nothing is sent. */
  | { status: "locked"; until: Date };

/** One way to pass the second step. A factor may give several: a phone gives SMS and call. */
export interface LoginMethod {
  readonly kind: MethodKind;
  /**
   * What the user sent in this method's form, cleaned up (spaces and dashes out), or null when it
   * cannot be one of its responses: a format mistake, answered before any try is counted.
   */
  normaliseResponse(sent: string): string | null;
  /**
   * Checks a normalised response. When it is right the method consumes it (marks the code used,
   * the time step or signature counter spent) atomically, so the same response passes only once.
   * `attemptId` is the login attempt (or step-up attempt) it answers, "" when none; `challenge`
   * what the web layer kept for a browser ceremony.
   */
  verifyResponse(input: { userId: number; attemptId: string; response: string; challenge?: string }): Promise<ResponseCheck>;
  /** For a method that sends something first (an SMS code): sends it for this attempt. */
  startChallenge?(userId: number, attemptId: string, context: RequestContext): Promise<ChallengeStart>;
}

/** What a user has of a factor, as the security and admin pages show it. */
export interface FactorSummary {
  /** When it was set up (the earliest item of a factor with several). */
  since: Date | null;
  /** Items the user tells apart and removes one by one (a passkey per device); empty otherwise. */
  items: { id: string; name: string; since: Date; lastUsedAt: Date | null }[];
  /** How many are left to use (recovery codes); null when it is not used up. */
  remaining: number | null;
  /** The rest, for the words: a masked number. */
  facts: Record<string, string | number | null>;
}

/** The part of a factor that is plain data: what the registry builds its SQL from. */
export interface FactorDefinition {
  /** The folder's name: "app", "phone", "recovery", "passkey". */
  readonly id: string;
  /** The login methods it gives, in the order the method-choice page lists them. */
  readonly kinds: readonly MethodKind[];
  /** Recovery codes back the others up but are not a second factor on their own. */
  readonly isBackup: boolean;
  /** SQL: whether the user in the row `u` has it (true/false). */
  readonly enrolledSql: string;
  /** SQL: its summary for the user in the row `u`, as JSON, or NULL when they have none. */
  readonly summarySql: string;
  /** Turns the JSON of summarySql into a summary (dates come as text). */
  readSummary(value: unknown): FactorSummary | null;
}

/** A factor with its services: how its responses are checked and how it is removed. */
export interface SecondFactor extends FactorDefinition {
  readonly methods: readonly LoginMethod[];
  /**
   * Removes what the user has of it (one item when `item` is given) inside the caller's
   * transaction. Resolves false when there was nothing of it (or no such item of this user's) to remove.
   */
  remove(userId: number, tx: Queryable, item?: string): Promise<boolean>;
  /**
   * Removes what it kept only for a login or an enrolment in progress: expired before `now`, or
   * (a login's challenges) created before `finishedBefore`. Returns how many, by name.
   */
  pruneExpired?(now: Date, finishedBefore: Date): Promise<Record<string, number>>;
}

import type { Queryable } from "../../db/database.js";

// The one interface every second factor implements: the authenticator app here; SMS and phone
// call beside it. The login step, the method-choice page and the audit go through this, never
// through the code of one factor. A new factor is one new file that implements it.

export type MethodKind = "app" | "sms" | "call" | "recovery";

/** What checking a typed response found: right, wrong, or a code already used (not a guess). */
export type ResponseCheck = "right" | "wrong" | "replayed";

export interface SecondFactorMethod {
  readonly kind: MethodKind;
  /** As on the method-choice page: "With an authenticator app". */
  readonly label: string;
  /** Whether this user has set the method up (recovery codes: has unused codes). */
  isEnrolled(userId: number): Promise<boolean>;
  /**
   * What the user typed in this method's own form (spaces and dashes taken out), or null when it
   * cannot be one of its codes: a format mistake, answered before any try is counted.
   */
  normaliseResponse(typed: string): string | null;
  /**
   * Checks a normalised response for this login attempt. When it is right the method consumes it
   * (marks the code used, the time step spent) atomically, so the same response passes only once;
   * a response used before is "replayed" where the method can tell.
   */
  verifyResponse(input: { userId: number; attemptId: string; response: string }): Promise<ResponseCheck>;
  /** Deletes everything this method keeps for the user (removal, admin reset), inside tx. */
  removeForUser(userId: number, tx: Queryable): Promise<void>;
}

import PQueue from "p-queue";

export interface PasswordCheckLimits {
  /** Password checks (bcrypt comparisons) running at once. */
  concurrency: number;
  /** Checks that may wait for a turn; past that the answer is "busy" at once. */
  queueLength: number;
  /** The longest a check waits for its turn before the answer is "busy". */
  maxWaitMs: number;
}

export type Admitted<T> = { status: "checked"; value: T } | { status: "busy" };

export type PasswordChecks = ReturnType<typeof createPasswordChecks>;

/**
 * Admission control for password checks. Each bcrypt comparison keeps a core busy for a quarter of
 * a second, so a flood of logins would take every core from the pages of signed-in users: at most
 * `concurrency` checks run at once, a few wait in line (p-queue), and the rest are told at once
 * that the portal is busy, without any work done for them.
 */
export function createPasswordChecks(limits: PasswordCheckLimits) {
  const queue = new PQueue({ concurrency: limits.concurrency });

  async function admit<T>(check: () => Promise<T>): Promise<Admitted<T>> {
    if (queue.pending >= limits.concurrency && queue.size >= limits.queueLength) return { status: "busy" };
    // Gives up only while waiting: a check that has started keeps its place until it ends, so
    // never more than `concurrency` comparisons run.
    const waited = new AbortController();
    const timer = setTimeout(() => waited.abort(), limits.maxWaitMs);
    try {
      const value = await queue.add(
        () => {
          clearTimeout(timer);
          return check();
        },
        { signal: waited.signal },
      );
      return { status: "checked", value };
    } catch (error) {
      if (waited.signal.aborted) return { status: "busy" };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  return { admit };
}

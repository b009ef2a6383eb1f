import PQueue from "p-queue";

export interface PasswordCheckLimits {
  /** Password checks (bcrypt comparisons) running at once. */
  concurrency: number;
  /** Checks that may wait for a turn; past that the answer is "busy" at once. */
  queueLength: number;
  /** The longest a check waits for its turn before the answer is "busy". */
  maxWaitMs: number;
  /** Places in line (running or waiting) one client (an address, an IPv6 /64, an account) may hold. */
  perClient: number;
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
  // Checks running or waiting, per client: one client (an address, a network, an account) holds
  // at most `perClient` places (one by default), so that repeating one's own right password cannot
  // keep everyone else out.
  const placesHeld = new Map<string, number>();

  async function admit<T>(client: string, check: () => Promise<T>): Promise<Admitted<T>> {
    if ((placesHeld.get(client) ?? 0) >= limits.perClient) return { status: "busy" };
    if (queue.pending >= limits.concurrency && queue.size >= limits.queueLength) return { status: "busy" };
    placesHeld.set(client, (placesHeld.get(client) ?? 0) + 1);
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
      const held = (placesHeld.get(client) ?? 1) - 1;
      if (held > 0) placesHeld.set(client, held);
      else placesHeld.delete(client);
    }
  }

  return { admit };
}

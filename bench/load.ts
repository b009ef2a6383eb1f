// HTTP load with autocannon: pages at many connections, floods of wrong passwords, and the
// signed-in visitors whose latency is watched during a flood. Every run is bounded by a duration or
// a request count, and by a time cap on top.
import autocannon from "autocannon";
import { nextAddress } from "./visitor.js";

/** Runs autocannon and stops it after capSeconds whatever its own limits say. */
export function runAutocannon(options: autocannon.Options, capSeconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(result);
    });
    const timer = setTimeout(() => instance.stop(), capSeconds * 1000);
  });
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rate: number;
  /** null when nothing was answered. */
  p50Ms: number | null;
  p99Ms: number | null;
  /** Share of answers with the expected status. */
  expectedShare: number;
  statuses: Record<string, number>;
  errors: number;
}

function summarise(result: autocannon.Result, expectedStatus: number | ((status: number) => boolean)): LoadResult {
  const statuses: Record<string, number> = {};
  for (const [status, { count = 0 }] of Object.entries(result.statusCodeStats ?? {})) statuses[status] = Number(count);
  const isExpected = typeof expectedStatus === "number" ? (status: number) => status === expectedStatus : expectedStatus;
  const answered = Object.values(statuses).reduce((sum, count) => sum + count, 0);
  const expected = Object.entries(statuses)
    .filter(([status]) => isExpected(Number(status)))
    .reduce((sum, [, count]) => sum + count, 0);
  return {
    requests: result.requests.total,
    seconds: result.duration,
    rate: result.requests.total / result.duration,
    p50Ms: answered === 0 ? null : result.latency.p50,
    p99Ms: answered === 0 ? null : result.latency.p99,
    expectedShare: answered === 0 ? 0 : expected / answered,
    statuses,
    errors: result.errors,
  };
}

/** Takes the signed-in sessions in turn, so concurrent requests mostly use different sessions. */
function cookieRotation(cookies: string[]) {
  let turn = 0;
  return () => cookies[turn++ % cookies.length]!;
}

/**
 * GETs a signed-in page with `connections` connections for `seconds`, or until `amount` requests
 * are answered (then `seconds` only bounds the wait: every request sent is waited for, so a slow
 * answer is counted rather than cut off at the end).
 */
export async function loadPage(options: {
  baseUrl: string;
  path: string;
  cookies: string[];
  connections: number;
  seconds?: number;
  amount?: number;
  /** Requests per second over all connections; unlimited when absent. */
  rate?: number;
  expectedStatus?: number | ((status: number) => boolean);
}): Promise<LoadResult> {
  const nextCookie = cookieRotation(options.cookies);
  const seconds = options.seconds ?? 30;
  const result = await runAutocannon(
    {
      url: options.baseUrl,
      connections: options.connections,
      ...(options.amount ? { amount: options.amount } : { duration: seconds }),
      ...(options.rate ? { overallRate: options.rate } : {}),
      requests: [
        {
          method: "GET",
          path: options.path,
          setupRequest: (request) => ({ ...request, headers: { ...request.headers, cookie: nextCookie() } }),
        },
      ],
    },
    seconds + 15,
  );
  return summarise(result, options.expectedStatus ?? 200);
}

/** Visits the login page without a cookie `amount` times: each visit leaves an anonymous session row. */
export async function visitLoginPage(baseUrl: string, amount: number): Promise<LoadResult> {
  const result = await runAutocannon({ url: `${baseUrl}/login`, connections: 10, amount }, 60);
  return summarise(result, 200);
}

export interface FloodSession {
  cookie: string;
  csrfToken: string;
}

/**
 * Wrong passwords posted to the login form as fast as `connections` connections allow, for
 * `seconds`: from one address (`fromAddress`) or, without it, each from a new address.
 */
export async function floodLogins(options: {
  baseUrl: string;
  sessions: FloodSession[];
  connections: number;
  seconds: number;
  fromAddress?: string;
}): Promise<LoadResult> {
  let sent = 0;
  const result = await runAutocannon(
    {
      url: options.baseUrl,
      connections: options.connections,
      duration: options.seconds,
      requests: [
        {
          method: "POST",
          path: "/login",
          setupRequest: (request) => {
            sent += 1;
            const session = options.sessions[sent % options.sessions.length]!;
            const form = new URLSearchParams({
              email: `flood${sent}@bench.test`,
              password: `not the password ${sent}`,
              _csrf: session.csrfToken,
            });
            return {
              ...request,
              headers: {
                ...request.headers,
                cookie: session.cookie,
                "content-type": "application/x-www-form-urlencoded",
                "x-forwarded-for": options.fromAddress ?? nextAddress(),
              },
              body: form.toString(),
            };
          },
        },
      ],
    },
    options.seconds + 15,
  );
  // A refused login is the expected answer: 401 (wrong password) or 429 (too many tries).
  return summarise(result, (status) => status === 401 || status === 429 || status === 503);
}

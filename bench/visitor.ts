// A browser as far as the portal can tell: keeps cookies, reads the CSRF token from forms, sends
// X-Forwarded-For (the bench runs the portal with TRUST_PROXY=loopback, so every visitor can come
// from its own address while all traffic stays on loopback).
import { generate } from "otplib";

const requestTimeoutMs = 30_000;

export interface PageAnswer {
  status: number;
  location: string | null;
  body: string;
}

export class Visitor {
  private readonly cookies = new Map<string, string>();

  constructor(
    private readonly baseUrl: string,
    private readonly forwardedFor?: string,
  ) {}

  /** Takes over cookies from a Cookie header, e.g. a session signed in by another visitor. */
  useCookies(header: string): this {
    for (const pair of header.split(";")) this.keepCookie(pair);
    return this;
  }

  /** The Cookie header this visitor sends, e.g. to hand a signed-in session to the load generator. */
  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  get(path: string): Promise<PageAnswer> {
    return this.send("GET", path);
  }

  post(path: string, form: Record<string, string>): Promise<PageAnswer> {
    return this.send("POST", path, new URLSearchParams(form).toString());
  }

  private async send(method: string, path: string, body?: string): Promise<PageAnswer> {
    const headers: Record<string, string> = {};
    if (this.cookies.size > 0) headers.cookie = this.cookieHeader();
    if (this.forwardedFor) headers["x-forwarded-for"] = this.forwardedFor;
    if (body !== undefined) headers["content-type"] = "application/x-www-form-urlencoded";
    const response = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(requestTimeoutMs),
    });
    for (const cookie of response.headers.getSetCookie()) this.keepCookie(cookie);
    return { status: response.status, location: response.headers.get("location"), body: await response.text() };
  }

  private keepCookie(setCookie: string) {
    const [pair = "", ...attributes] = setCookie.split(";");
    const equals = pair.indexOf("=");
    if (equals < 1) return;
    const name = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    const expired = attributes.some((attribute) => {
      const [key = "", date = ""] = attribute.split("=");
      return key.trim().toLowerCase() === "expires" && Date.parse(date) <= Date.now();
    });
    if (!value || expired) this.cookies.delete(name);
    else this.cookies.set(name, value);
  }
}

/** The CSRF token of the first form on a page. */
export function csrfTokenIn(html: string): string {
  const match = html.match(/name="_csrf" value="([^"]+)"/);
  if (!match?.[1]) throw new Error("no CSRF token on the page");
  return match[1];
}

/** True when the answer sends the browser on to a signed-in page (not back to a login step). */
export function isSignedInRedirect(answer: PageAnswer): boolean {
  return answer.status >= 300 && answer.status < 400 && !!answer.location && !/^\/(login|enrol)/.test(answer.location);
}

// Every address the bench makes up comes from 198.18.0.0/15, the range set aside for benchmarks
// (RFC 2544), handed out once each, so no per-address limit is reached by accident.
let addressCount = 0;

export function nextAddress(): string {
  addressCount += 1;
  const n = addressCount % 131_072;
  return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

export interface Account {
  email: string;
  password: string;
}

/** A new visitor, from a new address, fills in the login form. */
async function submitPassword(baseUrl: string, account: Account): Promise<{ visitor: Visitor; answer: PageAnswer }> {
  const visitor = new Visitor(baseUrl, nextAddress());
  const page = await visitor.get("/login");
  const answer = await visitor.post("/login", {
    email: account.email,
    password: account.password,
    _csrf: csrfTokenIn(page.body),
  });
  return { visitor, answer };
}

/** Logs in with a password only; returns the visitor holding the signed-in session, or null. */
export async function logInWithPassword(baseUrl: string, account: Account): Promise<Visitor | null> {
  const { visitor, answer } = await submitPassword(baseUrl, account);
  return isSignedInRedirect(answer) ? visitor : null;
}

// RFC 6238 as the portal configures it (src/services/two-factor/totp-codes.ts): SHA-1, 6 digits, 30 s.
const appCodeSeconds = 30;

export function currentAppStep(): number {
  return Math.floor(Date.now() / 1000 / appCodeSeconds);
}

/** The code an authenticator app shows during the given 30-second step. */
export function appCodeAt(secret: string, step: number): Promise<string> {
  return generate({ secret, algorithm: "sha1", digits: 6, period: appCodeSeconds, epoch: step * appCodeSeconds });
}

export interface AppAccount extends Account {
  secret: string;
  /** The last step whose code this account used; the portal refuses that step and earlier ones. */
  lastStep: number;
}

/**
 * Hands out accounts with an authenticator app together with a step the portal will accept now
 * (now or the next one) and that the account has not used yet: a code works once, and a code of an
 * earlier step than the last one used is refused, so an account is lent to one login at a time.
 */
export class AppAccountPool {
  private readonly busy = new Set<AppAccount>();

  constructor(private readonly accounts: AppAccount[]) {}

  take(): { account: AppAccount; step: number } | null {
    const now = currentAppStep();
    for (const account of this.accounts) {
      const step = Math.max(account.lastStep + 1, now);
      if (!this.busy.has(account) && step <= now + 1) {
        account.lastStep = step;
        this.busy.add(account);
        return { account, step };
      }
    }
    return null;
  }

  giveBack(account: AppAccount): void {
    this.busy.delete(account);
  }
}

/** Password, then the code from the app; returns the signed-in visitor, or null. */
export async function logInWithApp(baseUrl: string, pool: AppAccountPool): Promise<Visitor | null> {
  const taken = pool.take();
  if (!taken) throw new Error("every bench account with an app has used its codes for now");
  try {
    return await answerPasswordAndCode(baseUrl, taken.account, taken.step);
  } finally {
    pool.giveBack(taken.account);
  }
}

async function answerPasswordAndCode(baseUrl: string, account: AppAccount, step: number): Promise<Visitor | null> {
  const { visitor, answer: afterPassword } = await submitPassword(baseUrl, account);
  if (afterPassword.status !== 303 && afterPassword.status !== 302) return null;
  const codePage = await visitor.get("/login/2fa/app");
  if (codePage.status !== 200) return null;
  const answer = await visitor.post("/login/2fa/app", {
    code: await appCodeAt(account.secret, step),
    _csrf: csrfTokenIn(codePage.body),
  });
  return isSignedInRedirect(answer) ? visitor : null;
}

export interface BoundedRun {
  succeeded: number;
  failed: number;
  seconds: number;
  /** Successes per second over the whole run. */
  rate: number;
  firstError?: string;
}

/**
 * Runs `count` tasks, `concurrency` at a time, and stops early at the time limit. A task returns
 * true for a success; a thrown error counts as a failure.
 */
export async function runBounded(
  count: number,
  concurrency: number,
  seconds: number,
  task: (index: number) => Promise<boolean>,
): Promise<BoundedRun> {
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < count && performance.now() < deadline) {
      const index = next++;
      try {
        if (await task(index)) succeeded += 1;
        else failed += 1;
      } catch (error) {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  return { succeeded, failed, seconds: elapsed, rate: succeeded / elapsed, firstError };
}

// npm run bench: timings measured side by side in one run, never in the test suite.
//
// 1. Login timing (SECURITY.md "Passwords"): an unknown email and a wrong password for a known
//    one must take about the same time (median within 20%), so timing does not reveal which
//    emails have accounts. Requests alternate, at the production bcrypt cost.
// 2. For scale: the same login page served, and a full password login.
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import request from "supertest";
import { createApp } from "../src/app.js";
import { systemClock } from "../src/services/clock.js";
import { createTestConfig, csrfFrom } from "../test/support/app.js";
import { createTestDatabase } from "../test/support/database.js";

const rounds = 21;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main() {
  const database = await createTestDatabase();
  // TRUST_PROXY lets each request come from its own address, so the per-IP limit stays out of
  // the measurement; BCRYPT_COST is the production default.
  const config = createTestConfig({ BCRYPT_COST: "12", TRUST_PROXY: "true" });
  const { app, services } = createApp({ config, db: database.db, clock: systemClock, logger: pino({ level: "silent" }) });
  const created = await services.users.createUser(
    { email: "bench@example.test", name: "Bench", role: "patient", password: "a long timing passphrase" },
    { ip: undefined, userAgent: undefined },
  );
  if (!created.ok) throw new Error(created.error);

  let address = 0;
  async function timeLogin(email: string, password: string): Promise<{ ms: number; status: number; body: string }> {
    address += 1;
    const ip = `198.51.${Math.floor(address / 250)}.${(address % 250) + 1}`;
    const agent = request.agent(app);
    const page = await agent.get("/login").set("X-Forwarded-For", ip);
    const started = performance.now();
    const response = await agent
      .post("/login")
      .set("X-Forwarded-For", ip)
      .type("form")
      .send({ email, password, _csrf: csrfFrom(page.text) });
    return {
      ms: performance.now() - started,
      status: response.status,
      body: response.text.replace(/name="_csrf" value="[^"]+"/, "").replace(email, "EMAIL"),
    };
  }

  // Warm up bcrypt's dummy hash and the connection.
  await timeLogin("nobody@example.test", "warm up password");
  await timeLogin("bench@example.test", "a long timing passphrase");

  const unknown: number[] = [];
  const wrong: number[] = [];
  const right: number[] = [];
  const pages: number[] = [];
  let sameAnswer = true;
  for (let i = 0; i < rounds; i += 1) {
    const a = await timeLogin(`nobody${i}@example.test`, "not the password at all");
    const b = await timeLogin("bench@example.test", "not the password at all");
    unknown.push(a.ms);
    wrong.push(b.ms);
    sameAnswer &&= a.status === b.status && a.body.replace(`nobody${i}@example.test`, "EMAIL") === b.body;
    // The account delay after 5 failures must not change the answer: reset it between rounds.
    await database.db.query(
      "UPDATE users SET failed_login_count = 0, login_blocked_until = NULL WHERE email = 'bench@example.test'",
    );
    right.push((await timeLogin("bench@example.test", "a long timing passphrase")).ms);
    const started = performance.now();
    await request(app).get("/login");
    pages.push(performance.now() - started);
  }

  const ratio = median(wrong) / median(unknown);
  const rows = [
    ["login, unknown email", median(unknown)],
    ["login, wrong password", median(wrong)],
    ["login, right password (no second factor)", median(right)],
    ["login page", median(pages)],
  ] as const;
  console.log(
    `Medians of ${rounds} alternating requests, bcrypt cost ${config.bcryptCost}, ${process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite"}:`,
  );
  for (const [label, ms] of rows) console.log(`  ${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms`);
  console.log(`  wrong password / unknown email               ${ratio.toFixed(3).padStart(8)}  (target 0.80–1.20)`);
  console.log(`  same status and page for both                ${sameAnswer ? "yes" : "NO"}`);

  await database.close();
  if (ratio < 0.8 || ratio > 1.2 || !sameAnswer) {
    console.error("Login timing target missed.");
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { generateTotpCode } from "../../src/methods/app/totp-codes.js";
import { csrfFrom, startTestApp, type TestApp } from "../support/app.js";
import { BrowserLikeClient, keepCpuBusy } from "../support/browser-like-client.js";

// A browser follows a redirect as soon as the response headers arrive. Every step that changes the
// session and then redirects must have stored it by then, or the next page reads the old session:
// a right password lands back on the login page, a right proof code is refused.

let t: TestApp;
let baseUrl: string;
let stopServer: () => Promise<void>;
let cpu: { stop(): void };

before(async () => {
  t = await startTestApp();
  const server = t.app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stopServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  cpu = keepCpuBusy();
});

after(async () => {
  cpu.stop();
  await stopServer();
  await t.close();
});

async function formToken(client: BrowserLikeClient, path: string): Promise<string> {
  const page = await client.go("GET", path);
  assert.equal(page.status, 200, `${path} is shown`);
  return csrfFrom(await page.body);
}

test("40 of 40 right passwords reach the second step, with the CPU busy", async () => {
  const user = await t.createUser("patient", { withApp: true });
  const outcomes: string[] = [];
  for (let round = 0; round < 40; round += 1) {
    const client = new BrowserLikeClient(baseUrl);
    const token = await formToken(client, "/login");
    const reply = await client.go("POST", "/login", { email: user.email, password: user.password, _csrf: token });
    outcomes.push(`${reply.status} ${reply.url}`);
  }
  const bounced = outcomes.filter((outcome) => !/^200 \/login\/2fa/.test(outcome));
  assert.deepEqual(bounced, [], "every login reaches the second step");

  // And the second step itself lands signed in.
  const client = new BrowserLikeClient(baseUrl);
  const token = await formToken(client, "/login");
  await client.go("POST", "/login", { email: user.email, password: user.password, _csrf: token });
  t.clock.advanceSeconds(30);
  const codeToken = await formToken(client, "/login/2fa/app");
  const code = await generateTotpCode(user.totpSecret!, t.clock.now());
  const home = await client.go("POST", "/login/2fa/app", { code, _csrf: codeToken });
  assert.equal(`${home.status} ${home.url}`, "200 /patient");
});

test("40 of 40 phone numbers are proven with the code sent to them, with the CPU busy", async () => {
  const refused: string[] = [];
  for (let round = 0; round < 40; round += 1) {
    const user = await t.createUser("patient");
    const client = new BrowserLikeClient(baseUrl);
    const token = await formToken(client, "/login");
    const home = await client.go("POST", "/login", { email: user.email, password: user.password, _csrf: token });
    assert.equal(`${home.status} ${home.url}`, "200 /patient");
    const number = `+316120${String(round).padStart(5, "0")}`;
    const phoneToken = await formToken(client, "/account/2fa/phone");
    const verify = await client.go("POST", "/account/2fa/phone", { phone: number, _csrf: phoneToken });
    assert.equal(`${verify.status} ${verify.url}`, "200 /account/2fa/phone/verify");
    const { rows } = await t.database.db.query<{ body: string }>(
      "SELECT body FROM phone_outbox WHERE to_number = $1 ORDER BY id DESC LIMIT 1",
      [number],
    );
    const code = rows[0]?.body.match(/\b(\d{6})\b/)?.[1];
    assert.ok(code, "the code was sent");
    const done = await client.go("POST", "/account/2fa/phone/verify", { code, _csrf: csrfFrom(await verify.body) });
    const text = await done.body;
    if (done.status !== 200 || /not right|expired/i.test(text)) refused.push(`${round}: ${done.status} ${done.url}`);
  }
  assert.deepEqual(refused, [], "every right proof code is accepted");
});

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import twilio from "twilio";
import { type Config, loadConfig } from "../../src/config.js";
import { type PhoneGateway, PhoneGatewayError } from "../../src/gateways/phone-gateway.js";
import { createTwilioGateway, phoneGatewayMessages, rewriteOrigin, validateTwilioSignature } from "../../src/gateways/twilio.js";
import { signTwilioRequest, startTwilioEmulator, type TwilioEmulator } from "../support/twilio-emulator.js";

// The real Twilio SDK, driven through the gateway, against the loopback emulator; a small HTTP
// server plays the portal's webhook side (TwiML, Gather action, status callbacks).

const accountSid = `AC${"0".repeat(32)}`;
const authToken = "emulator-auth-token";
const fromNumber = "+3197010000000";
const patientNumber = "+31612345678";

interface ReceivedWebhook {
  path: string;
  url: string;
  params: Record<string, string>;
  signature: string | undefined;
  validSignature: boolean;
}

/** The portal's side of a call: serves TwiML with a Gather and records every signed request. */
async function startWebhookServer() {
  const received: ReceivedWebhook[] = [];
  let port = 0;
  const server: Server = createServer(async (req, res) => {
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const url = `http://127.0.0.1:${port}${req.url}`;
    const signature = req.headers["x-twilio-signature"] as string | undefined;
    received.push({
      path: req.url ?? "",
      url,
      params,
      signature,
      validSignature: validateTwilioSignature(authToken, url, params, signature),
    });
    if (req.url === "/twiml") {
      res.writeHead(200, { "Content-Type": "text/xml" });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><Response><Gather numDigits="1" action="http://127.0.0.1:${port}/gather" method="POST">` +
          "<Say>Press 1 to sign in. Press 9 if you did not try to sign in.</Say></Gather></Response>",
      );
    } else if (req.url === "/gather") {
      res.writeHead(200, { "Content-Type": "text/xml" });
      res.end("<Response><Say>Thank you.</Say><Hangup/></Response>");
    } else {
      res.writeHead(204).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      text += chunk;
    });
    req.on("end", () => resolve(text));
    req.on("error", reject);
  });
}

function buildConfig(apiBaseUrl: string, dataDir: string, token = authToken): Config {
  return loadConfig(
    {
      NODE_ENV: "test",
      PHONE_GATEWAY: "twilio",
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: token,
      TWILIO_FROM_NUMBER: fromNumber,
      TWILIO_API_BASE_URL: apiBaseUrl,
      SESSION_SECRET: "x".repeat(40),
      APP_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString("base64"),
      DATA_DIR: dataDir,
    },
    () => undefined,
  );
}

/** Runs fn, which must fail with a PhoneGatewayError, and returns that error. */
async function expectGatewayError(fn: () => Promise<unknown>): Promise<PhoneGatewayError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof PhoneGatewayError, `expected a PhoneGatewayError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a PhoneGatewayError");
}

function assertPlainMessage(error: PhoneGatewayError, ...secrets: string[]): void {
  for (const secret of secrets) assert.ok(!error.message.includes(secret), `message leaks ${secret}: ${error.message}`);
  assert.doesNotMatch(error.message, /HTTP|Twilio|\[|\d{5}/);
}

describe("twilio gateway against the emulator", () => {
  let emulator: TwilioEmulator;
  let webhooks: Awaited<ReturnType<typeof startWebhookServer>>;
  let dataDir: string;
  let gateway: PhoneGateway;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), "portal-twilio-"));
    emulator = await startTwilioEmulator({ accountSid, authToken });
    webhooks = await startWebhookServer();
    gateway = createTwilioGateway(buildConfig(emulator.baseUrl, dataDir));
  });

  after(async () => {
    await emulator.close();
    await webhooks.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    emulator.reset();
    webhooks.received.length = 0;
  });

  test("sends a text message with the configured sender and Basic auth", async () => {
    const sent = await gateway.sendSms({
      to: patientNumber,
      body: "Your code is 123456",
      statusCallbackUrl: `${webhooks.origin}/sms-status`,
    });

    assert.match(sent.providerId, /^SM[0-9a-f]{32}$/);
    assert.equal(emulator.requests.length, 1);
    const request = emulator.requests[0]!;
    assert.equal(request.method, "POST");
    assert.equal(request.path, `/2010-04-01/Accounts/${accountSid}/Messages.json`);
    assert.deepEqual(request.basicAuth, { username: accountSid, password: authToken });
    assert.equal(request.params.To, patientNumber);
    assert.equal(request.params.From, fromNumber);
    assert.equal(request.params.Body, "Your code is 123456");
    assert.equal(request.params.StatusCallback, `${webhooks.origin}/sms-status`);
    assert.equal(emulator.messages[0]?.sid, sent.providerId);
  });

  test("reports message delivery to the status callback, signed", async () => {
    const sent = await gateway.sendSms({
      to: patientNumber,
      body: "Code 654321",
      statusCallbackUrl: `${webhooks.origin}/sms-status`,
    });

    const delivery = await emulator.deliverMessageStatus(sent.providerId, "failed");

    assert.equal(delivery.status, 204);
    const [callback] = webhooks.received;
    assert.equal(callback?.path, "/sms-status");
    assert.equal(callback?.params.MessageSid, sent.providerId);
    assert.equal(callback?.params.MessageStatus, "failed");
    assert.equal(callback?.params.ErrorCode, "30008");
    assert.equal(callback?.validSignature, true);
  });

  test("starts a call with the TwiML URL and status callback", async () => {
    emulator.setCallBehaviour({ answer: "no-answer" });
    const sent = await gateway.startCall({
      to: patientNumber,
      twimlUrl: `${webhooks.origin}/twiml`,
      statusCallbackUrl: `${webhooks.origin}/call-status`,
      timeoutSeconds: 25,
    });

    assert.match(sent.providerId, /^CA[0-9a-f]{32}$/);
    const request = emulator.requests[0]!;
    assert.equal(request.path, `/2010-04-01/Accounts/${accountSid}/Calls.json`);
    assert.deepEqual(request.basicAuth, { username: accountSid, password: authToken });
    assert.equal(request.params.To, patientNumber);
    assert.equal(request.params.From, fromNumber);
    assert.equal(request.params.Url, `${webhooks.origin}/twiml`);
    assert.equal(request.params.Method, "POST");
    assert.equal(request.params.StatusCallback, `${webhooks.origin}/call-status`);
    assert.equal(request.params.StatusCallbackMethod, "POST");
    assert.deepEqual(request.params.StatusCallbackEvent, ["initiated", "ringing", "answered", "completed"]);
    assert.equal(request.params.Timeout, "25");

    const call = await emulator.waitForCall(sent.providerId);
    assert.equal(call.status, "no-answer");
    assert.equal(call.twiml, undefined, "an unanswered call never fetches its TwiML");
    assert.deepEqual(
      webhooks.received.map((webhook) => webhook.params.CallStatus),
      ["initiated", "ringing", "no-answer"],
    );
  });

  test("a wrong auth token becomes a PhoneGatewayError", async () => {
    const badGateway = createTwilioGateway(buildConfig(emulator.baseUrl, dataDir, "not-the-token"));

    const error = await expectGatewayError(() => badGateway.sendSms({ to: patientNumber, body: "Code 111111" }));

    assert.equal(error.providerCode, 20003);
    assert.equal(error.message, phoneGatewayMessages.unavailable);
    assert.equal(emulator.requests[0]?.basicAuth?.password, "not-the-token");
  });

  test("error 21211 becomes a plain message with the provider code", async () => {
    emulator.failNext({ status: 400, code: 21211, message: `The 'To' number ${patientNumber} is not a valid phone number.` });

    const error = await expectGatewayError(() => gateway.sendSms({ to: patientNumber, body: "Code 222222" }));

    assert.equal(error.providerCode, 21211);
    assert.equal(error.message, phoneGatewayMessages.unreachableNumber.sms);
    assertPlainMessage(error, patientNumber, "222222");
  });

  test("an invalid number refused by the provider does not leak into the message", async () => {
    const error = await expectGatewayError(() => gateway.startCall({ to: "0612345678", twimlUrl: `${webhooks.origin}/twiml` }));

    assert.equal(error.providerCode, 21211);
    assert.equal(error.message, phoneGatewayMessages.unreachableNumber.call);
    assertPlainMessage(error, "0612345678");
  });

  test("a provider that answers after 6 s times out after about 5 s", async () => {
    emulator.delayNext(6000);
    const started = Date.now();

    const error = await expectGatewayError(() => gateway.sendSms({ to: patientNumber, body: "Code 333333" }));

    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 4500 && elapsed < 6000, `gave up after ${elapsed} ms`);
    assert.equal(error.providerCode, undefined);
    assert.equal(error.message, phoneGatewayMessages.noAnswer);
  });

  test("a provider that drops connections becomes a PhoneGatewayError", async () => {
    emulator.setDown(true);

    const error = await expectGatewayError(() => gateway.sendSms({ to: patientNumber, body: "Code 444444" }));

    assert.equal(error.providerCode, undefined);
    assert.equal(error.message, phoneGatewayMessages.noAnswer);
  });

  test("a call answered with 1 fetches the TwiML and posts the digit to the Gather action, signed", async () => {
    emulator.setCallBehaviour({ answer: "1" });
    const sent = await gateway.startCall({
      to: patientNumber,
      twimlUrl: `${webhooks.origin}/twiml`,
      statusCallbackUrl: `${webhooks.origin}/call-status`,
    });

    const call = await emulator.waitForCall(sent.providerId);

    assert.equal(call.error, undefined);
    assert.equal(call.status, "completed");
    assert.match(call.twiml ?? "", /<Gather numDigits="1"/);
    assert.equal(call.gatherAction, `${webhooks.origin}/gather`);
    assert.equal(call.gatherResponse?.status, 200);
    assert.match(call.gatherResponse?.body ?? "", /Thank you/);
    assert.deepEqual(
      webhooks.received.map((webhook) => `${webhook.path} ${webhook.params.CallStatus}`),
      [
        "/call-status initiated",
        "/call-status ringing",
        "/call-status in-progress",
        "/twiml in-progress",
        "/gather in-progress",
        "/call-status completed",
      ],
    );
    assert.ok(
      webhooks.received.every((webhook) => webhook.validSignature),
      "every request from the emulator carries a valid signature",
    );

    const gather = webhooks.received.find((webhook) => webhook.path === "/gather")!;
    assert.equal(gather.params.Digits, "1");
    assert.equal(gather.params.CallSid, sent.providerId);
    assert.equal(gather.params.Direction, "outbound-api");
    assert.equal(validateTwilioSignature(authToken, gather.url, { ...gather.params, Digits: "9" }, gather.signature), false);
    assert.equal(validateTwilioSignature(authToken, gather.url, gather.params, `${gather.signature}x`), false);
    assert.equal(validateTwilioSignature("another-token", gather.url, gather.params, gather.signature), false);
    assert.equal(validateTwilioSignature(authToken, gather.url, gather.params, undefined), false);
  });

  test("a busy callee is reported without fetching TwiML", async () => {
    emulator.setCallBehaviour({ answer: "busy" });
    const sent = await gateway.startCall({
      to: patientNumber,
      twimlUrl: `${webhooks.origin}/twiml`,
      statusCallbackUrl: `${webhooks.origin}/s`,
    });

    const call = await emulator.waitForCall(sent.providerId);

    assert.equal(call.status, "busy");
    assert.equal(webhooks.received.at(-1)?.params.CallStatus, "busy");
    assert.ok(!webhooks.received.some((webhook) => webhook.path === "/twiml"));
  });
});

describe("twilio signatures and URLs", () => {
  test("the emulator signs exactly as the Twilio SDK expects", () => {
    const url = "https://portal.example/twilio/gather?challenge=abc";
    const params = { Digits: "1", CallSid: `CA${"1".repeat(32)}`, From: fromNumber, To: patientNumber };

    const signature = signTwilioRequest(authToken, url, params);

    assert.equal(signature, twilio.getExpectedTwilioSignature(authToken, url, params));
    assert.equal(twilio.validateRequest(authToken, signature, url, params), true);
    assert.equal(validateTwilioSignature(authToken, url, params, signature), true);
  });

  test("rewriteOrigin keeps the path and query under the configured base URL", () => {
    const uri = `https://api.twilio.com/2010-04-01/Accounts/${accountSid}/Messages.json?PageSize=1`;

    assert.equal(
      rewriteOrigin(uri, new URL("http://127.0.0.1:9999")),
      `http://127.0.0.1:9999/2010-04-01/Accounts/${accountSid}/Messages.json?PageSize=1`,
    );
    assert.equal(
      rewriteOrigin(uri, new URL("http://proxy.local/twilio/")),
      `http://proxy.local/twilio/2010-04-01/Accounts/${accountSid}/Messages.json?PageSize=1`,
    );
  });
});

import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

// A loopback stand-in for the parts of Twilio's REST API the portal uses (Messages.json and
// Calls.json), so the real SDK can be exercised without the network. After creating a call it
// behaves like Twilio's voice platform: it reports the call's progress to StatusCallback, fetches
// the TwiML from Url, "presses" a digit on the first <Gather> and posts it to the Gather's action.
// Every request it makes is signed with X-Twilio-Signature exactly as Twilio signs webhooks.

const API_VERSION = "2010-04-01";
/** Outgoing webhooks give up after this long, like the gateway's own requests. */
const WEBHOOK_TIMEOUT_MS = 5000;
/** Bodies larger than this (either way) are refused or cut off: nothing here needs more. */
const MAX_BODY_BYTES = 64 * 1024;
/** A call re-prompting for digits is followed this many times at most. */
const MAX_GATHER_ROUNDS = 3;
const DEFAULT_WAIT_FOR_CALL_MS = 15_000;
const E164 = /^\+[1-9]\d{6,14}$/;

export type FormParams = Record<string, string | string[]>;

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Form body (POST) or query (GET) parameters; a repeated key gives an array, in order. */
  params: FormParams;
  headers: IncomingHttpHeaders;
  /** The HTTP Basic credentials sent, if any. */
  basicAuth: { username: string; password: string } | undefined;
  time: Date;
}

/** A Twilio REST error the next request will get instead of its normal answer. */
export interface ProviderFailure {
  status: number;
  code: number;
  message: string;
}

/** How the callee "answers": press 1, 9 or 5 on the Gather, or never pick up / be busy / fail. */
export type CallAnswer = "1" | "9" | "5" | "no-answer" | "busy" | "failed";

export interface CallBehaviour {
  answer: CallAnswer;
}

export type WebhookPurpose = "status-callback" | "twiml" | "gather";

/** One request the emulator made to the application, and what came back. */
export interface WebhookDelivery {
  purpose: WebhookPurpose;
  url: string;
  method: "GET" | "POST";
  params: Record<string, string>;
  /** The X-Twilio-Signature header sent. */
  signature: string;
  time: Date;
  status?: number;
  body?: string;
  /** Set when no response arrived (refused, timed out, aborted). */
  error?: string;
}

export type MessageDeliveryStatus = "delivered" | "undelivered" | "failed";

export interface EmulatedMessage {
  sid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | undefined;
  status: string;
  dateCreated: Date;
  params: FormParams;
  /** Status callbacks posted by deliverMessageStatus. */
  deliveries: WebhookDelivery[];
}

export interface EmulatedCall {
  sid: string;
  to: string;
  from: string;
  url: string;
  method: "GET" | "POST";
  statusCallback: string | undefined;
  statusCallbackMethod: "GET" | "POST";
  statusCallbackEvents: string[];
  timeoutSeconds: number | undefined;
  /** The behaviour in force when the call was created. */
  answer: CallAnswer;
  /** queued → ringing → in-progress → completed, or busy / no-answer / failed. */
  status: string;
  dateCreated: Date;
  params: FormParams;
  /** Every request made for this call, in order. */
  webhooks: WebhookDelivery[];
  /** The TwiML document fetched from url. */
  twiml?: string;
  /** The absolute URL the first Gather's digits were posted to. */
  gatherAction?: string;
  /** The application's answer to the first Gather's digits. */
  gatherResponse?: WebhookDelivery;
  gatherResponses: WebhookDelivery[];
  /** Why the call ended early, if it did (TwiML not served, emulator closed). */
  error?: string;
  /** Settles (never rejects) when the call is over and every webhook has been answered. */
  done: Promise<EmulatedCall>;
}

export interface TwilioEmulatorOptions {
  accountSid: string;
  authToken: string;
  /** Pause between call steps, so the application has stored the call's sid before its callbacks arrive. */
  callStepDelayMs?: number;
}

export interface TwilioEmulator {
  /** http://127.0.0.1:<port>: pass as TWILIO_API_BASE_URL. */
  readonly baseUrl: string;
  readonly accountSid: string;
  readonly authToken: string;
  readonly requests: readonly RecordedRequest[];
  readonly messages: readonly EmulatedMessage[];
  readonly calls: readonly EmulatedCall[];
  /** The next REST request gets this error instead of its answer. */
  failNext(failure: ProviderFailure): void;
  /** The next REST request is answered only after ms. */
  delayNext(ms: number): void;
  /** While down, every connection is closed as soon as it opens. */
  setDown(down: boolean): void;
  /** How calls created from now on are answered (default: press 1). */
  setCallBehaviour(behaviour: CallBehaviour): void;
  /** Resolves with the call once its whole exchange is over; rejects after timeoutMs. */
  waitForCall(callSid: string, timeoutMs?: number): Promise<EmulatedCall>;
  /** Posts a signed delivery report to the message's StatusCallback. */
  deliverMessageStatus(messageSid: string, status: MessageDeliveryStatus): Promise<WebhookDelivery>;
  /** Forgets everything recorded, cancels running calls and pending settings. */
  reset(): void;
  close(): Promise<void>;
}

/** X-Twilio-Signature: base64(HMAC-SHA1(authToken, url + each sorted POST key followed by its value)). */
export function signTwilioRequest(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((text, key) => text + key + params[key], url);
  return createHmac("sha1", authToken).update(data, "utf8").digest("base64");
}

function newSid(prefix: "SM" | "CA"): string {
  return prefix + randomBytes(16).toString("hex");
}

/** Twilio's REST API writes dates in RFC 2822. */
function toRfc2822(date: Date): string {
  return date.toUTCString().replace("GMT", "+0000");
}

function twilioErrorBody(code: number, message: string, status: number) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function parseForm(text: string): FormParams {
  const params: FormParams = {};
  for (const [key, value] of new URLSearchParams(text)) {
    const existing = params[key];
    if (existing === undefined) params[key] = value;
    else params[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return params;
}

function firstParam(params: FormParams, key: string): string | undefined {
  const value = params[key];
  return Array.isArray(value) ? value[0] : value;
}

function listParam(params: FormParams, key: string): string[] {
  const value = params[key];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function parseBasicAuth(header: string | undefined): RecordedRequest["basicAuth"] {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function readRequestBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString("utf8") : undefined));
    req.on("error", reject);
  });
}

/** What the REST API answers; afterSend runs once the answer is on its way (a call starts ringing). */
interface ApiReply {
  status: number;
  body: unknown;
  afterSend?: () => void;
}

function errorReply(status: number, code: number, message: string): ApiReply {
  return { status, body: twilioErrorBody(code, message, status) };
}

/** Twilio's own wording repeats the number: the gateway must not pass it on to the user. */
function invalidNumberReply(to: string): ApiReply {
  return errorReply(400, 21211, `Invalid 'To' Phone Number: ${to}`);
}

function notFoundReply(path: string): ApiReply {
  return errorReply(404, 20404, `The requested resource ${path} was not found`);
}

function sendReply(res: ServerResponse, reply: ApiReply): void {
  if (!res.destroyed && !res.headersSent) {
    const text = JSON.stringify(reply.body);
    res.writeHead(reply.status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
  }
  // Like Twilio, a call goes ahead even when the client stopped waiting for the answer.
  reply.afterSend?.();
}

const xmlEntities: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

function decodeXmlEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => xmlEntities[name]!);
}

interface GatherElement {
  action: string | undefined;
  method: "GET" | "POST";
}

/** The first <Gather> in a TwiML document, or undefined. A regex is enough for TwiML this simple. */
export function findGather(twiml: string): GatherElement | undefined {
  const element = /<Gather\b([^>]*)>/i.exec(twiml);
  if (!element) return undefined;
  const attributes: Record<string, string> = {};
  for (const match of element[1]!.matchAll(/([A-Za-z]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
    attributes[match[1]!.toLowerCase()] = decodeXmlEntities(match[2] ?? match[3] ?? "");
  }
  return { action: attributes.action || undefined, method: attributes.method?.toUpperCase() === "GET" ? "GET" : "POST" };
}

function toHttpMethod(value: string | undefined): "GET" | "POST" {
  return value?.toUpperCase() === "GET" ? "GET" : "POST";
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
  return String(error);
}

export async function startTwilioEmulator(options: TwilioEmulatorOptions): Promise<TwilioEmulator> {
  const { accountSid, authToken } = options;
  const callStepDelayMs = options.callStepDelayMs ?? 25;
  const requests: RecordedRequest[] = [];
  const messages: EmulatedMessage[] = [];
  const calls: EmulatedCall[] = [];
  let pendingFailure: ProviderFailure | undefined;
  let pendingDelayMs: number | undefined;
  let down = false;
  let callBehaviour: CallBehaviour = { answer: "1" };
  let closed = false;
  // Aborted by reset() and close(): stops delayed answers and running calls.
  let lifetime = new AbortController();

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      sendReply(res, errorReply(500, 20500, `Emulator error: ${describeError(error)}`));
    });
  });
  // Longer than the client's idle keep-alive, so the client (not the emulator) drops idle sockets.
  server.keepAliveTimeout = 30_000;
  server.on("connection", (socket) => {
    if (down) socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (down) {
      req.socket.destroy();
      return;
    }
    const bodyText = await readRequestBody(req);
    const url = new URL(req.url ?? "/", baseUrl);
    const params = req.method === "GET" ? parseForm(url.search) : parseForm(bodyText ?? "");
    const basicAuth = parseBasicAuth(req.headers.authorization);
    requests.push({ method: req.method ?? "", path: url.pathname, params, headers: req.headers, basicAuth, time: new Date() });

    if (!(await waitPendingDelay(res))) return;
    sendReply(res, answerRequest(req.method ?? "", url.pathname, params, bodyText, basicAuth));
  }

  function answerRequest(
    method: string,
    path: string,
    params: FormParams,
    bodyText: string | undefined,
    basicAuth: RecordedRequest["basicAuth"],
  ): ApiReply {
    if (bodyText === undefined) return errorReply(413, 20001, "Request body too large");
    if (basicAuth?.username !== accountSid || basicAuth.password !== authToken) return errorReply(401, 20003, "Authenticate");
    const failure = pendingFailure;
    pendingFailure = undefined;
    if (failure) return errorReply(failure.status, failure.code, failure.message);
    return routeRequest(method, path, params);
  }

  /** Holds the answer back when delayNext asked for it; false when the emulator was reset or closed meanwhile. */
  async function waitPendingDelay(res: ServerResponse): Promise<boolean> {
    const delayMs = pendingDelayMs;
    pendingDelayMs = undefined;
    if (delayMs === undefined) return true;
    try {
      await sleep(delayMs, undefined, { signal: lifetime.signal });
      return true;
    } catch {
      res.destroy();
      return false;
    }
  }

  function routeRequest(method: string, path: string, params: FormParams): ApiReply {
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/.exec(path);
    // Another account's resources do not exist for these credentials.
    if (!match || method !== "POST" || match[1] !== accountSid) return notFoundReply(path);
    return match[2] === "Messages" ? createMessage(params) : createCall(params);
  }

  function createMessage(params: FormParams): ApiReply {
    const to = firstParam(params, "To");
    const from = firstParam(params, "From");
    const body = firstParam(params, "Body");
    if (!to) return errorReply(400, 21604, "A 'To' phone number is required.");
    if (!from) return errorReply(400, 21603, "A 'From' phone number is required.");
    if (!body) return errorReply(400, 21602, "Message body is required.");
    if (!E164.test(to)) return invalidNumberReply(to);

    const message: EmulatedMessage = {
      sid: newSid("SM"),
      to,
      from,
      body,
      statusCallback: firstParam(params, "StatusCallback"),
      status: "queued",
      dateCreated: new Date(),
      params,
      deliveries: [],
    };
    messages.push(message);
    return { status: 201, body: messageResource(message) };
  }

  function messageResource(message: EmulatedMessage) {
    const uri = `/${API_VERSION}/Accounts/${accountSid}/Messages/${message.sid}`;
    const date = toRfc2822(message.dateCreated);
    return {
      account_sid: accountSid,
      api_version: API_VERSION,
      body: message.body,
      date_created: date,
      date_sent: null,
      date_updated: date,
      direction: "outbound-api",
      error_code: null,
      error_message: null,
      from: message.from,
      messaging_service_sid: null,
      num_media: "0",
      num_segments: "1",
      price: null,
      price_unit: "USD",
      sid: message.sid,
      status: message.status,
      subresource_uris: { media: `${uri}/Media.json`, feedback: `${uri}/Feedback.json` },
      to: message.to,
      uri: `${uri}.json`,
    };
  }

  function createCall(params: FormParams): ApiReply {
    const to = firstParam(params, "To");
    const from = firstParam(params, "From");
    const url = firstParam(params, "Url");
    if (!to) return errorReply(400, 21201, "No 'To' number is specified");
    if (!from) return errorReply(400, 21213, "No 'From' number is specified");
    if (!url) return errorReply(400, 21205, "Url parameter is required.");
    if (!E164.test(to)) return invalidNumberReply(to);
    const timeout = firstParam(params, "Timeout");
    const requestedEvents = listParam(params, "StatusCallbackEvent");

    let finish!: (call: EmulatedCall) => void;
    const done = new Promise<EmulatedCall>((resolve) => {
      finish = resolve;
    });
    const call: EmulatedCall = {
      sid: newSid("CA"),
      to,
      from,
      url,
      method: toHttpMethod(firstParam(params, "Method")),
      statusCallback: firstParam(params, "StatusCallback"),
      statusCallbackMethod: toHttpMethod(firstParam(params, "StatusCallbackMethod")),
      // Without StatusCallbackEvent Twilio reports only the end of the call.
      statusCallbackEvents: requestedEvents.length > 0 ? requestedEvents : ["completed"],
      timeoutSeconds: timeout === undefined ? undefined : Number(timeout),
      answer: callBehaviour.answer,
      status: "queued",
      dateCreated: new Date(),
      params,
      webhooks: [],
      gatherResponses: [],
      done,
    };
    calls.push(call);
    const signal = lifetime.signal;
    const startCall = () => {
      runCall(call, signal)
        .catch((error: unknown) => {
          call.error ??= describeError(error);
        })
        .finally(() => finish(call));
    };
    return { status: 201, body: callResource(call), afterSend: startCall };
  }

  function callResource(call: EmulatedCall) {
    const uri = `/${API_VERSION}/Accounts/${accountSid}/Calls/${call.sid}`;
    const date = toRfc2822(call.dateCreated);
    return {
      account_sid: accountSid,
      annotation: null,
      answered_by: null,
      api_version: API_VERSION,
      caller_name: null,
      date_created: date,
      date_updated: date,
      direction: "outbound-api",
      duration: null,
      end_time: null,
      forwarded_from: null,
      from: call.from,
      from_formatted: call.from,
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: "USD",
      queue_time: "0",
      sid: call.sid,
      start_time: null,
      status: call.status,
      subresource_uris: {
        notifications: `${uri}/Notifications.json`,
        recordings: `${uri}/Recordings.json`,
        events: `${uri}/Events.json`,
      },
      to: call.to,
      to_formatted: call.to,
      trunk_sid: null,
      uri: `${uri}.json`,
    };
  }

  // --- The voice side: what Twilio does after accepting a call ---

  async function runCall(call: EmulatedCall, signal: AbortSignal): Promise<void> {
    await sleep(callStepDelayMs, undefined, { signal });
    await reportCallStatus(call, "initiated", "initiated", signal);
    await reportCallStatus(call, "ringing", "ringing", signal);
    if (call.answer === "busy" || call.answer === "no-answer" || call.answer === "failed") {
      // Twilio reports these with the "completed" event: the call is over.
      await reportCallStatus(call, "completed", call.answer, signal);
      return;
    }
    await reportCallStatus(call, "answered", "in-progress", signal);
    await playTwiml(call, call.answer, signal);
    await reportCallStatus(call, "completed", "completed", signal);
  }

  function callParams(call: EmulatedCall): Record<string, string> {
    return {
      AccountSid: accountSid,
      ApiVersion: API_VERSION,
      CallSid: call.sid,
      CallStatus: call.status,
      Called: call.to,
      Caller: call.from,
      Direction: "outbound-api",
      From: call.from,
      To: call.to,
    };
  }

  async function reportCallStatus(call: EmulatedCall, event: string, status: string, signal: AbortSignal): Promise<void> {
    call.status = status;
    if (!call.statusCallback || !call.statusCallbackEvents.includes(event)) return;
    signal.throwIfAborted();
    const params: Record<string, string> = {
      ...callParams(call),
      CallbackSource: "call-progress-events",
      SequenceNumber: String(call.webhooks.filter((webhook) => webhook.purpose === "status-callback").length),
      Timestamp: toRfc2822(new Date()),
    };
    if (event === "completed") {
      const seconds = String(Math.max(0, Math.round((Date.now() - call.dateCreated.getTime()) / 1000)));
      params.CallDuration = seconds;
      params.Duration = seconds;
    }
    call.webhooks.push(await sendWebhook("status-callback", call.statusCallback, call.statusCallbackMethod, params, signal));
  }

  async function playTwiml(call: EmulatedCall, digit: string, signal: AbortSignal): Promise<void> {
    await sleep(callStepDelayMs, undefined, { signal });
    const fetched = await sendWebhook("twiml", call.url, call.method, callParams(call), signal);
    call.webhooks.push(fetched);
    call.twiml = fetched.body;
    if (fetched.status !== 200 || fetched.body === undefined) {
      // Twilio says "an application error has occurred" and hangs up.
      call.error = `TwiML not served: ${fetched.error ?? `HTTP ${fetched.status}`}`;
      return;
    }
    let document = { url: call.url, twiml: fetched.body };
    for (let round = 0; round < MAX_GATHER_ROUNDS; round++) {
      const gather = findGather(document.twiml);
      if (!gather) return;
      // Twilio resolves a relative action against the document's URL, and posts to the document itself without one.
      const actionUrl = new URL(gather.action ?? document.url, document.url).href;
      await sleep(callStepDelayMs, undefined, { signal });
      const params = { ...callParams(call), Digits: digit, FinishedOnKey: "" };
      const answered = await sendWebhook("gather", actionUrl, gather.method, params, signal);
      call.webhooks.push(answered);
      call.gatherResponses.push(answered);
      call.gatherAction ??= actionUrl;
      call.gatherResponse ??= answered;
      if (answered.status !== 200 || answered.body === undefined) return;
      document = { url: actionUrl, twiml: answered.body };
    }
  }

  /** Makes one signed request to the application, like Twilio: never throws, records the outcome. */
  async function sendWebhook(
    purpose: WebhookPurpose,
    url: string,
    method: "GET" | "POST",
    params: Record<string, string>,
    signal: AbortSignal,
  ): Promise<WebhookDelivery> {
    // For GET Twilio puts the parameters in the query and signs the full URL alone.
    const target = method === "GET" ? appendQuery(url, params) : url;
    const signature = signTwilioRequest(authToken, target, method === "GET" ? {} : params);
    const delivery: WebhookDelivery = { purpose, url: target, method, params, signature, time: new Date() };
    try {
      const response = await fetch(target, {
        method,
        headers: {
          "Content-Type": "application/x-www-form-urlencoded",
          "User-Agent": "TwilioProxy/1.1",
          Accept: "*/*",
          "X-Twilio-Signature": signature,
          "I-Twilio-Idempotency-Token": randomBytes(16).toString("hex"),
        },
        body: method === "POST" ? new URLSearchParams(params).toString() : undefined,
        redirect: "manual",
        signal: AbortSignal.any([signal, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
      });
      delivery.status = response.status;
      delivery.body = (await response.text()).slice(0, MAX_BODY_BYTES);
    } catch (error) {
      delivery.error = describeError(error);
    }
    return delivery;
  }

  function appendQuery(url: string, params: Record<string, string>): string {
    const target = new URL(url);
    for (const [key, value] of Object.entries(params)) target.searchParams.append(key, value);
    return target.href;
  }

  // --- The API tests use ---

  function findCall(callSid: string): EmulatedCall {
    const call = calls.find((candidate) => candidate.sid === callSid);
    if (!call) throw new Error(`The emulator has no call ${callSid}.`);
    return call;
  }

  async function waitForCall(callSid: string, timeoutMs = DEFAULT_WAIT_FOR_CALL_MS): Promise<EmulatedCall> {
    const call = findCall(callSid);
    const timer = new AbortController();
    const timeout = sleep(timeoutMs, undefined, { signal: timer.signal }).then(() => {
      throw new Error(`Call ${callSid} did not finish within ${timeoutMs} ms (status ${call.status}).`);
    });
    try {
      return await Promise.race([call.done, timeout]);
    } finally {
      timer.abort();
      timeout.catch(() => undefined);
    }
  }

  async function deliverMessageStatus(messageSid: string, status: MessageDeliveryStatus): Promise<WebhookDelivery> {
    const message = messages.find((candidate) => candidate.sid === messageSid);
    if (!message) throw new Error(`The emulator has no message ${messageSid}.`);
    if (!message.statusCallback) throw new Error(`Message ${messageSid} was sent without a StatusCallback.`);
    message.status = status;
    const params: Record<string, string> = {
      AccountSid: accountSid,
      ApiVersion: API_VERSION,
      From: message.from,
      MessageSid: message.sid,
      MessageStatus: status,
      SmsSid: message.sid,
      SmsStatus: status,
      To: message.to,
    };
    // 30003: unreachable handset; 30008: unknown error. Twilio sends an ErrorCode with both outcomes.
    if (status === "undelivered") params.ErrorCode = "30003";
    if (status === "failed") params.ErrorCode = "30008";
    const delivery = await sendWebhook("status-callback", message.statusCallback, "POST", params, lifetime.signal);
    message.deliveries.push(delivery);
    return delivery;
  }

  function reset(): void {
    lifetime.abort();
    lifetime = new AbortController();
    requests.length = 0;
    messages.length = 0;
    calls.length = 0;
    pendingFailure = undefined;
    pendingDelayMs = undefined;
    down = false;
    callBehaviour = { answer: "1" };
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    lifetime.abort();
    const running = calls.map((call) => call.done);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled(running);
  }

  return {
    baseUrl,
    accountSid,
    authToken,
    requests,
    messages,
    calls,
    failNext: (failure) => {
      pendingFailure = failure;
    },
    delayNext: (ms) => {
      pendingDelayMs = ms;
    },
    setDown: (value) => {
      down = value;
      // Idle keep-alive sockets would otherwise still carry the next request.
      if (value) server.closeIdleConnections();
    },
    setCallBehaviour: (behaviour) => {
      callBehaviour = { ...behaviour };
    },
    waitForCall,
    deliverMessageStatus,
    reset,
    close,
  };
}

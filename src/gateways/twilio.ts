import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient.js";
import type { Config } from "../config.js";
import { type PhoneCall, type PhoneGateway, PhoneGatewayError, type SentMessage, type SmsMessage } from "./phone-gateway.js";

// The real provider. Every error leaves this module as a PhoneGatewayError whose message can be
// shown to the user as it is: it never repeats the phone number, the message body or Twilio's own
// wording (which may quote the number).

/** A login must not hang on the provider: give up on any REST request after this long. */
export const TWILIO_REQUEST_TIMEOUT_MS = 5000;

const CALL_STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"];

type MessageKind = "sms" | "call";

export const phoneGatewayMessages = {
  unreachableNumber: {
    sms: "The phone provider could not reach this number (it may be invalid or unable to receive text messages).",
    call: "The phone provider could not reach this number (it may be invalid or unable to receive calls).",
  },
  unavailable: "Text messages and calls are not available right now. Please choose another method.",
  busy: "The phone provider is busy. Please try again in a minute or choose another method.",
  noAnswer: "The phone provider did not answer in time. Please try again or choose another method.",
  failed: "The phone provider could not handle this request. Please try again or choose another method.",
} as const;

// Twilio error codes that mean "this number cannot get this message": invalid, not mobile,
// region not enabled, unsubscribed (STOP), unroutable.
const unreachableNumberCodes = new Set([
  13223, 13224, 13227, 21211, 21214, 21215, 21216, 21217, 21219, 21401, 21407, 21408, 21421, 21601, 21610, 21612, 21614,
]);

// Codes that mean our own account or sender is unusable: no retry by the user will help.
const accountProblemCodes = new Set([20003, 20005, 20008, 20404, 21212, 21606, 21659]);

// Errors the HTTP layer (axios, node:net) reports when the provider is slow or unreachable.
const networkErrorCodes = new Set([
  "ECONNABORTED",
  "ETIMEDOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ERR_NETWORK",
  "ERR_CANCELED",
]);

/** Sends every request to apiBaseUrl (an emulator or proxy) instead of Twilio's own hosts, and bounds its time. */
class TwilioHttpClient extends twilio.RequestClient {
  readonly #apiBaseUrl: URL | undefined;

  constructor(apiBaseUrl: string | undefined) {
    super({ timeout: TWILIO_REQUEST_TIMEOUT_MS, autoRetry: false });
    this.#apiBaseUrl = apiBaseUrl ? new URL(apiBaseUrl) : undefined;
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = this.#apiBaseUrl ? rewriteOrigin(opts.uri, this.#apiBaseUrl) : opts.uri;
    return super.request<TData>({ ...opts, uri, timeout: TWILIO_REQUEST_TIMEOUT_MS });
  }
}

/** Keeps the path and query of a Twilio URL and puts it under base (whose own path becomes a prefix). */
export function rewriteOrigin(uri: string, base: URL): string {
  const original = new URL(uri);
  const prefix = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${prefix}${original.pathname}${original.search}`;
}

function readTwilioSettings(config: Config) {
  const { accountSid, authToken, fromNumber, apiBaseUrl } = config.twilio;
  if (!accountSid || !authToken || !fromNumber) {
    throw new Error("TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are required for the twilio phone gateway.");
  }
  return { accountSid, authToken, fromNumber, apiBaseUrl };
}

export function createTwilioGateway(config: Config): PhoneGateway {
  const settings = readTwilioSettings(config);
  const client = twilio(settings.accountSid, settings.authToken, {
    httpClient: new TwilioHttpClient(settings.apiBaseUrl),
    autoRetry: false,
  });

  async function sendSms(message: SmsMessage): Promise<SentMessage> {
    try {
      const created = await client.messages.create({
        to: message.to,
        from: settings.fromNumber,
        body: message.body,
        statusCallback: message.statusCallbackUrl,
      });
      return { providerId: created.sid };
    } catch (error) {
      throw toPhoneGatewayError(error, "sms");
    }
  }

  async function startCall(call: PhoneCall): Promise<SentMessage> {
    try {
      const created = await client.calls.create({
        to: call.to,
        from: settings.fromNumber,
        url: call.twimlUrl,
        method: "POST",
        statusCallback: call.statusCallbackUrl,
        statusCallbackMethod: "POST",
        // Without these Twilio reports only the final status; the login page shows ringing and answered too.
        statusCallbackEvent: call.statusCallbackUrl ? CALL_STATUS_EVENTS : undefined,
        timeout: call.timeoutSeconds,
      });
      return { providerId: created.sid };
    } catch (error) {
      throw toPhoneGatewayError(error, "call");
    }
  }

  return { name: "twilio", sendSms, startCall };
}

interface ProviderError {
  status: number;
  code: number | undefined;
}

/** Twilio's RestException and its newer RFC 9457 variant both carry a numeric status and code. */
function readProviderError(error: unknown): ProviderError | undefined {
  if (error instanceof twilio.RestException) return { status: error.status, code: error.code };
  if (typeof error !== "object" || error === null) return undefined;
  const { status, code } = error as { status?: unknown; code?: unknown };
  if (typeof status !== "number") return undefined;
  return { status, code: typeof code === "number" ? code : undefined };
}

function isNetworkError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, isAxiosError } = error as { code?: unknown; isAxiosError?: unknown };
  if (typeof code === "string" && networkErrorCodes.has(code)) return true;
  // axios marks every transport failure; a response with an error status never reaches here as one.
  return isAxiosError === true;
}

export function toPhoneGatewayError(error: unknown, kind: MessageKind): PhoneGatewayError {
  if (error instanceof PhoneGatewayError) return error;
  const provider = readProviderError(error);
  if (provider) return describeProviderError(provider, kind, error);
  if (isNetworkError(error))
    return new PhoneGatewayError(phoneGatewayMessages.noAnswer, undefined, { cause: error }, "no_answer");
  return new PhoneGatewayError(phoneGatewayMessages.failed, undefined, { cause: error });
}

function describeProviderError({ status, code }: ProviderError, kind: MessageKind, cause: unknown): PhoneGatewayError {
  const options = { cause };
  if (code !== undefined && unreachableNumberCodes.has(code)) {
    return new PhoneGatewayError(phoneGatewayMessages.unreachableNumber[kind], code, options, "unreachable_number");
  }
  if ((code !== undefined && accountProblemCodes.has(code)) || status === 401 || status === 403) {
    return new PhoneGatewayError(phoneGatewayMessages.unavailable, code, options, "unavailable");
  }
  if (code === 20429 || status === 429) return new PhoneGatewayError(phoneGatewayMessages.busy, code, options, "busy");
  if (status >= 500) return new PhoneGatewayError(phoneGatewayMessages.noAnswer, code, options, "no_answer");
  return new PhoneGatewayError(phoneGatewayMessages.failed, code, options);
}

/**
 * True when signature is the X-Twilio-Signature Twilio computes for a webhook to url with these
 * POST params. url must be the exact public URL Twilio called (as given to it), query included.
 */
export function validateTwilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
  signature: string | undefined,
): boolean {
  if (!signature) return false;
  try {
    return twilio.validateRequest(authToken, signature, url, params);
  } catch {
    // An unparsable URL cannot have been signed by Twilio.
    return false;
  }
}

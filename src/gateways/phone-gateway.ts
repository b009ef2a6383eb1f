// Sends SMS and places calls. Chosen by PHONE_GATEWAY: "twilio" (the real SDK) or "outbox"
// (development: recorded in the database and shown at /dev/outbox).

export interface SmsMessage {
  /** E.164, e.g. +31612345678. */
  to: string;
  body: string;
  /** Where the provider reports delivery (queued, sent, delivered, undelivered, failed). */
  statusCallbackUrl?: string;
}

export interface PhoneCall {
  /** E.164. */
  to: string;
  /** Where the provider fetches the call's TwiML (a <Gather>). Carries a per-challenge token, never a code. */
  twimlUrl: string;
  /** Where the provider reports the call's progress (ringing, answered, completed, busy, no-answer, failed). */
  statusCallbackUrl?: string;
  /** Ring this long before giving up (seconds). */
  timeoutSeconds?: number;
}

export interface SentMessage {
  /** The provider's id (Twilio's SM…/CA… sid, or the outbox row's id). */
  providerId: string;
}

export interface PhoneGateway {
  readonly name: "twilio" | "outbox";
  sendSms(message: SmsMessage): Promise<SentMessage>;
  startCall(call: PhoneCall): Promise<SentMessage>;
}

/** Why the provider did not take a message or call: the pages word it (the message is for the log). */
export type PhoneFailure = "unreachable_number" | "unavailable" | "busy" | "no_answer" | "failed";

/** A provider failure: what kind (`reason`), and a message for the log. */
export class PhoneGatewayError extends Error {
  constructor(
    message: string,
    /** The provider's error code, e.g. Twilio's 21211 (invalid number); undefined for timeouts and network errors. */
    readonly providerCode?: number,
    options?: { cause?: unknown },
    readonly reason: PhoneFailure = "failed",
  ) {
    super(message, options);
  }
}

import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { Clock } from "../services/clock.js";
import { createOutboxGateway } from "./outbox.js";
import type { PhoneGateway } from "./phone-gateway.js";
import { createTwilioGateway } from "./twilio.js";

export type { OutboxCallStatus, OutboxEntry, OutboxGateway } from "./outbox.js";
export { createOutboxGateway, parseOutboxProviderId } from "./outbox.js";
export type { PhoneCall, PhoneGateway, SentMessage, SmsMessage } from "./phone-gateway.js";
export { PhoneGatewayError } from "./phone-gateway.js";
export { createTwilioGateway, validateTwilioSignature } from "./twilio.js";

/** The gateway PHONE_GATEWAY names; the database and clock are only used by the outbox. */
export function createPhoneGateway(config: Config, db: Database, clock: Clock): PhoneGateway {
  if (config.phoneGateway === "twilio") return createTwilioGateway(config);
  return createOutboxGateway(db, clock);
}

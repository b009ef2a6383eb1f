import express, { type RequestHandler, Router } from "express";
import type { Config } from "../../config.js";
import { validateTwilioSignature } from "../../gateways/twilio.js";
import { buildConfirmationTwiml, buildSpokenEndTwiml } from "../../gateways/twiml.js";
import { requestContext } from "../../web/request-context.js";
import type { PhoneFactor } from "./phone.js";

/**
 * Only requests signed by Twilio with our auth token pass. The URL signed is PUBLIC_BASE_URL plus
 * the path, never anything taken from the Host header.
 */
function requireTwilioSignature(config: Config): RequestHandler {
  return (req, res, next) => {
    const authToken = config.twilio.authToken;
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.body ?? {})) {
      if (typeof value !== "string") return res.status(403).type("text/plain").send("Forbidden");
      params[key] = value;
    }
    const url = `${config.publicBaseUrl}${req.originalUrl}`;
    if (!authToken || !validateTwilioSignature(authToken, url, params, req.get("x-twilio-signature"))) {
      return res.status(403).type("text/plain").send("Forbidden");
    }
    next();
  };
}

const answers = {
  approved: "Thank you. Your login is confirmed. Goodbye.",
  denied: "Thank you. The login was refused and has been reported to the practice. Goodbye.",
  "wrong-key": "That key is not one of the options. The login was not confirmed. Goodbye.",
  locked:
    "Two-step login for your account is locked for a while after too many wrong codes. The login was not confirmed. Goodbye.",
  "not-pending": "This call is no longer valid. Goodbye.",
} as const;

/** Twilio's callbacks: the call's TwiML, the key pressed, and status reports. No session, no CSRF token. */
export function twilioWebhookRoutes({ config, phone }: { config: Config; phone: PhoneFactor }) {
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 100 }));
  router.use(requireTwilioSignature(config));
  router.use((_req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });

  router.post("/voice/:token", async (req, res) => {
    const twiml = (await phone.isCallWaiting(req.params.token))
      ? buildConfirmationTwiml({
          portalName: config.portalName,
          gatherUrl: `${config.publicBaseUrl}/webhooks/twilio/gather/${req.params.token}`,
        })
      : buildSpokenEndTwiml(answers["not-pending"]);
    res.type("text/xml").send(twiml);
  });

  router.post("/gather/:token", async (req, res) => {
    const digits = typeof req.body.Digits === "string" ? req.body.Digits.slice(0, 5) : "";
    const outcome = await phone.answerCall(req.params.token, digits, requestContext(req));
    res.type("text/xml").send(buildSpokenEndTwiml(answers[outcome]));
  });

  router.post("/call-status/:token", async (req, res) => {
    await phone.recordCallStatus(req.params.token, String(req.body.CallStatus ?? ""));
    res.status(204).end();
  });

  router.post("/message-status/:token", async (req, res) => {
    await phone.recordMessageStatus(req.params.token, String(req.body.MessageStatus ?? ""));
    res.status(204).end();
  });

  return router;
}

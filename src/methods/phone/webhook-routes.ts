import express, { type RequestHandler, Router } from "express";
import type { Config } from "../../config.js";
import { validateTwilioSignature } from "../../gateways/twilio.js";
import { buildConfirmationTwiml, buildSpokenEndTwiml } from "../../gateways/twiml.js";
import { type I18n, isLocale, translatorFor } from "../../i18n.js";
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

/** Twilio's callbacks: the call's TwiML, the key pressed, and status reports. No session, no CSRF token. */
export function twilioWebhookRoutes({ config, phone, i18n }: { config: Config; phone: PhoneFactor; i18n: I18n }) {
  // The call speaks the language of the person called (users.locale), else DEFAULT_LOCALE.
  const speechOf = (recipientLocale: string | null) => {
    const locale = isLocale(recipientLocale) ? recipientLocale : config.defaultLocale;
    return { locale, words: translatorFor(i18n, locale) };
  };
  const router = Router();
  router.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 100 }));
  router.use(requireTwilioSignature(config));
  router.use((_req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });

  router.post("/voice/:token", async (req, res) => {
    const call = await phone.findCall(req.params.token);
    const { locale, words } = speechOf(call.recipientLocale);
    const twiml = call.isWaiting
      ? buildConfirmationTwiml({
          words,
          locale,
          portalName: config.portalName,
          gatherUrl: `${config.publicBaseUrl}/webhooks/twilio/gather/${req.params.token}`,
        })
      : buildSpokenEndTwiml({ message: words("phone:call.answers.not-pending"), locale });
    res.type("text/xml").send(twiml);
  });

  router.post("/gather/:token", async (req, res) => {
    const digits = typeof req.body.Digits === "string" ? req.body.Digits.slice(0, 5) : "";
    const { locale, words } = speechOf((await phone.findCall(req.params.token)).recipientLocale);
    const outcome = await phone.answerCall(req.params.token, digits, requestContext(req));
    res.type("text/xml").send(buildSpokenEndTwiml({ message: words(`phone:call.answers.${outcome}`), locale }));
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

import { Router } from "express";
import { z } from "zod";
import type { OutboxCallStatus, OutboxGateway } from "../../gateways/outbox.js";
import type { PhoneFactor } from "../../methods/phone/phone.js";
import { NotFoundError } from "../../services/errors.js";
import { parseForm } from "../forms.js";
import { phrase } from "../i18n-helpers.js";
import { renderPage } from "../render.js";
import { requestContext } from "../request-context.js";

const answerForm = z.object({ answer: z.enum(["1", "9", "no-answer"]), _csrf: z.string().optional() });

/** The token a call's TwiML URL carries: /webhooks/twilio/voice/<token>. */
function tokenOf(twimlUrl: string | null): string | null {
  return twimlUrl?.match(/\/webhooks\/twilio\/voice\/([A-Za-z0-9_-]+)$/)?.[1] ?? null;
}

/**
 * Development only (never in production, only with the outbox gateway): the messages and calls
 * that would have gone out. Answering a call here drives the same service function as Twilio's
 * gather webhook.
 */
export function devOutboxRoutes({ outbox, phone }: { outbox: OutboxGateway; phone: PhoneFactor }) {
  const router = Router();

  router.get("/", async (_req, res) => {
    const entries = await outbox.listOutbox(50);
    const waiting = new Map<number, boolean>();
    for (const entry of entries) {
      const token = tokenOf(entry.twimlUrl);
      if (entry.kind === "call" && entry.status === "ringing" && token) waiting.set(entry.id, await phone.isCallWaiting(token));
    }
    renderPage(res, "dev/outbox", { title: phrase("dev:outbox.title"), entries, waiting });
  });

  router.post("/calls/:id", async (req, res) => {
    const parsed = parseForm(answerForm, req.body);
    const call = await outbox.findOutboxCall(Number(req.params.id));
    const token = tokenOf(call?.twimlUrl ?? null);
    if (!call || !token || !parsed.ok) throw new NotFoundError(phrase("errors:messages.outboxCallNotFound"));
    let status: OutboxCallStatus;
    if (parsed.data.answer === "no-answer") {
      await phone.recordCallStatus(token, "no-answer");
      status = "no-answer";
    } else {
      await phone.answerCall(token, parsed.data.answer, requestContext(req));
      status = parsed.data.answer === "1" ? "answered-1" : "answered-9";
    }
    await outbox.markOutboxCall(call.id, status);
    res.redirect(303, "/dev/outbox");
  });

  return router;
}

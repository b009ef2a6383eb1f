import { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { Clock } from "../../services/clock.js";
import { maskPhoneNumber, parsePhoneInput } from "../../services/phone-numbers.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import { type EnrolmentStep, enrolmentBackLink } from "../../web/enrolment-step.js";
import { field, parseForm } from "../../web/forms.js";
import { type Phrase, phrase, wordsOf } from "../../web/i18n-helpers.js";
import { renderLockedOut, renderSendLimited } from "../../web/limit-pages.js";
import { type FormError, renderPage } from "../../web/render.js";
import { requestContext } from "../../web/request-context.js";
import { enrolmentBindingOf, takeNotice } from "../../web/session.js";
import { phoneFailureKey, phonePages } from "./pages.js";
import type { PhoneFactor } from "./phone.js";

const phoneForm = z.object({
  phone: field(40, phrase("methods:phone.enrolment.numberLabel")).trim().min(1, "methods:phone.enrolment.numberMissing"),
  _csrf: z.string().optional(),
});
const codeForm = z.object({
  code: field(20, phrase("twoFactor:code.fieldName")).trim().min(1, "methods:phone.verify.codeMissing"),
  _csrf: z.string().optional(),
});

export interface PhoneEnrolmentDeps {
  config: Config;
  clock: Clock;
  phone: PhoneFactor;
  twoFactor: TwoFactorService;
  enrolmentStep: EnrolmentStep;
}

/**
 * Registering or changing the phone for SMS and calls, mounted at /account/2fa/phone and at
 * /enrol/phone. The number counts only after the code sent to it comes back.
 */
export function phoneEnrolmentRoutes(
  { config, clock, phone, twoFactor, enrolmentStep }: PhoneEnrolmentDeps,
  { basePath, onEnrolled }: { basePath: string; onEnrolled?: (req: Request, res: Response) => Promise<void> },
) {
  const router = Router();
  const isForced = basePath.startsWith("/enrol");
  const back = enrolmentBackLink(basePath);
  const showLockedOut = (res: Response, until: Date) => renderLockedOut(res, { until, now: clock.now(), back });

  async function showNumberForm(req: Request, res: Response, error: FormError | Phrase | null = null, status = 200, typed = "") {
    renderPage(
      res,
      "methods/phone/enrolment",
      {
        title: phrase("methods:phone.enrolment.title"),
        current: await phone.findVerifiedPhone(req.user!.id),
        basePath,
        error,
        typed,
        region: config.phoneDefaultRegion,
      },
      status,
    );
  }

  async function showCodeForm(req: Request, res: Response, error: FormError | null = null, status = 200) {
    const challenge = await phone.findLatestChallenge(req.user!.id, null, "sms", "enrol");
    if (!challenge) return res.redirect(303, basePath);
    renderPage(
      res,
      "methods/phone/verify",
      {
        title: phrase("methods:phone.verify.title"),
        masked: maskPhoneNumber(challenge.phone),
        basePath,
        error,
        notice: takeNotice(req),
      },
      status,
    );
  }

  async function sendCode(req: Request, res: Response, e164: string) {
    const result = await phone.startPhoneEnrolment(req.user!.id, e164, requestContext(req), enrolmentBindingOf(req));
    if (result.status === "rate_limited") {
      return renderSendLimited(res, {
        retryAt: result.retryAt,
        now: clock.now(),
        alternativesHeading: phrase("methods:phone.enrolment.otherMethodNow"),
        alternatives: [{ href: basePath.replace(/\/phone$/, ""), label: phrase("twoFactor:links.chooseAnother") }],
        back,
      });
    }
    if (result.status === "locked") return showLockedOut(res, result.until);
    if (result.status === "failed") return showNumberForm(req, res, phrase(phoneFailureKey(result.reason, "sms")), 502);
    res.redirect(303, `${basePath}/verify`);
  }

  router.get("/", (req, res) => showNumberForm(req, res));

  router.post("/", async (req, res) => {
    const parsed = parseForm(phoneForm, req.body);
    if (!parsed.ok) return showNumberForm(req, res, parsed.formError, 400);
    const number = parsePhoneInput(parsed.data.phone, config);
    if (!number.ok) {
      const message = phrase(`methods:phone.numberProblems.${number.problem}`, { regions: number.allowedRegions.join(", ") });
      return showNumberForm(req, res, { field: "phone", message }, 400, parsed.data.phone);
    }
    await sendCode(req, res, number.e164);
  });

  router.get("/verify", (req, res) => showCodeForm(req, res));

  router.post("/resend", async (req, res) => {
    const challenge = await phone.findLatestChallenge(req.user!.id, null, "sms", "enrol");
    if (!challenge) return res.redirect(303, basePath);
    await sendCode(req, res, challenge.phone);
  });

  router.post("/verify", async (req, res) => {
    const user = req.user!;
    const parsed = parseForm(codeForm, req.body);
    if (!parsed.ok) return showCodeForm(req, res, parsed.formError, 400);
    const hadFactor = await twoFactor.hasSecondFactor(user.id);
    const outcome = await phone.confirmPhoneEnrolment(user.id, parsed.data.code, enrolmentBindingOf(req), requestContext(req));
    if (outcome.status === "malformed")
      return showCodeForm(req, res, { field: "code", message: phrase(phonePages.logins[0]!.malformedMessage) }, 400);
    if (outcome.status === "expired") {
      return showCodeForm(req, res, { field: "code", message: phrase("methods:phone.verify.expired") }, 400);
    }
    if (outcome.status === "locked") return showLockedOut(res, outcome.until);
    if (outcome.status !== "enrolled") {
      return showCodeForm(req, res, { field: "code", message: phrase("methods:phone.verify.wrong") }, 400);
    }
    if (outcome.previousPhone) {
      // The old number hears about it: if this was not its owner, they know to call the practice.
      // It goes to the user, in the language of the page they changed it on.
      await phone.sendSecurityNotice(
        outcome.previousPhone,
        // The new number's last digits only: a masked number's dots are not in the SMS alphabet.
        wordsOf(req)("methods:phone.changedWarning", { digits: outcome.phone.slice(-2) }),
      );
    }
    await onEnrolled?.(req, res);
    await enrolmentStep.finishEnrolment(req, res, { hadFactor, notice: phonePages.enrolment!.enrolledNotice, isForced });
  });

  return router;
}

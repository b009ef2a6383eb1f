import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import { type Request, type Response, Router } from "express";
import { z } from "zod";
import type { Clock } from "../../services/clock.js";
import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { EnrolmentStep } from "../../web/enrolment-step.js";
import { field } from "../../web/forms.js";
import { type Phrase, phrase, translate } from "../../web/i18n-helpers.js";
import type { LoginStep } from "../../web/login-step.js";
import { renderPage } from "../../web/render.js";
import { requestContext } from "../../web/request-context.js";
import { restartWithNotice, takeNotice } from "../../web/session.js";
import { keepCeremonyChallenge } from "../../web/step-up.js";
import { passkeyScripts } from "./assets.js";
import { passkeyPages } from "./pages.js";
import {
  authenticationResponseSchema,
  challengeLifetimeMs,
  maxPasskeysPerUser,
  normalisePasskeyName,
  type Passkeys,
  passkeyNameMaxLength,
  type RegistrationResult,
  registrationResponseSchema,
} from "./passkeys.js";

// The pages and JSON endpoints of passkeys: adding one (signed in) and using one at login. The
// browser's script (browser/passkey.js) asks POST …/options for the prompt's options, lets the
// browser prompt, and posts the answer back. Both posts are form-encoded with the form's `_csrf`
// (the portal's CSRF check reads the token from a form body, before any router runs) and the
// answer as JSON text in the `response` field; the server answers with JSON: `{ options }`,
// `{ redirect }` or `{ error, field? }`.

declare module "express-session" {
  interface SessionData {
    /** The challenge of the last passkey prompt this session opened: used once, within challengeLifetimeMs. */
    passkeyChallenge: { purpose: ChallengePurpose; challenge: string; userId: number; expiresAt: number };
  }
}

type ChallengePurpose = "registration" | "authentication";

export interface PasskeyRouteDeps {
  passkeys: Passkeys;
  clock: Clock;
  twoFactor: TwoFactorService;
}

/**
 * What the passkey pages and their script say, as Phrases: the JSON answers to the script are
 * translated in the language of the page that asks (see refuse).
 */
export const passkeyWords = {
  expired: phrase("methods:passkey.errors.expired"),
  malformed: phrase("methods:passkey.errors.malformed"),
  cancelled: phrase("methods:passkey.errors.cancelled"),
  failed: phrase("methods:passkey.errors.failed"),
  alreadyOnDevice: phrase("methods:passkey.errors.alreadyOnDevice"),
  invalidName: phrase("methods:passkey.errors.invalidName", { max: passkeyNameMaxLength }),
  refused: phrase("methods:passkey.errors.refused"),
  duplicate: phrase("methods:passkey.errors.duplicate"),
  limitReached: phrase("methods:passkey.errors.limitReached", { max: maxPasskeysPerUser }),
  registered: phrase(passkeyPages.enrolment!.enrolledNotice),
  wrong: phrase("methods:passkey.errors.wrong"),
  locked: phrase("methods:passkey.errors.locked"),
} satisfies Record<string, Phrase>;

/**
 * The words the script shows for what happens in the browser, in the page's language: the view
 * renders them as data attributes of its form (browser/passkey.js has no words of its own).
 */
function browserWordsFor(req: Request) {
  return {
    cancelled: translate(req, passkeyWords.cancelled),
    failed: translate(req, passkeyWords.failed),
    alreadyOnDevice: translate(req, passkeyWords.alreadyOnDevice),
  };
}

const registrationWords: Record<Exclude<RegistrationResult["status"], "registered">, Phrase> = {
  invalid_name: passkeyWords.invalidName,
  refused: passkeyWords.refused,
  duplicate: passkeyWords.duplicate,
  limit_reached: passkeyWords.limitReached,
};

// Form fields: bounded strings without control characters (the whole body is 16 kB at most).
const nameField = z.object({ name: field(200, phrase("methods:passkey.register.nameLabel")) });
const answerField = z.object({ response: field(15_000, phrase("methods:passkey.answerLabel")) });

/** The browser's answer in the form's `response` field, or null when it is not one. */
function parseAnswer<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> | null {
  const form = answerField.safeParse(body ?? {});
  if (!form.success) return null;
  let json: unknown;
  try {
    json = JSON.parse(form.data.response);
  } catch {
    return null;
  }
  const answer = schema.safeParse(json);
  return answer.success ? answer.data : null;
}

function keepChallenge(req: Request, purpose: ChallengePurpose, challenge: string, now: Date) {
  req.session.passkeyChallenge = { purpose, challenge, userId: req.user!.id, expiresAt: now.getTime() + challengeLifetimeMs };
}

/** The challenge this session's prompt was given, if still fresh; it is forgotten either way. */
function takeChallenge(req: Request, purpose: ChallengePurpose, now: Date): string | null {
  const kept = req.session.passkeyChallenge;
  delete req.session.passkeyChallenge;
  if (!kept || kept.purpose !== purpose || kept.userId !== req.user!.id || kept.expiresAt <= now.getTime()) return null;
  return kept.challenge;
}

/** The answer to the script when something is wrong: the words, in the page's language, and the field. */
function refuse(req: Request, res: Response, message: Phrase, errorField?: string) {
  const error = translate(req, message);
  res.status(400).json(errorField ? { error, field: errorField } : { error });
}

/**
 * Runs a callback that ends as a form handler does, with res.redirect(…), and answers the script
 * with `{ redirect }` instead: fetch would follow a real redirect itself, and the page it leads to
 * would give its one-time notice to a response nobody sees.
 */
async function answerRedirectAsJson(req: Request, res: Response, callback: (req: Request, res: Response) => unknown) {
  res.redirect = ((statusOrUrl: number | string, url?: string | number) => {
    res.status(200).json({ redirect: String(typeof statusOrUrl === "string" ? statusOrUrl : url) });
  }) as Response["redirect"];
  await callback(req, res);
}

/**
 * Adding a passkey, at /account/2fa/passkey (a signed-in user) or /enrol/passkey (a user who must
 * set up a factor): GET shows the page, POST /options starts the prompt, POST / stores the
 * passkey, then onEnrolled and the enrolment step finish (recovery codes for a first factor, a
 * notice), ending with a redirect that is passed to the script as `{ redirect }`.
 */
export function passkeyRegistrationRoutes(
  { passkeys, clock, twoFactor, enrolmentStep }: PasskeyRouteDeps & { enrolmentStep: EnrolmentStep },
  { basePath, onEnrolled }: { basePath: string; onEnrolled?: (req: Request, res: Response) => Promise<void> },
) {
  const router = Router();
  const isForced = basePath.startsWith("/enrol");
  const backPath = isForced ? "/enrol" : "/account/security";

  router.get("/", async (req, res) => {
    const existing = await passkeys.listPasskeys(req.user!.id);
    renderPage(res, "methods/passkey/register", {
      title: phrase("methods:passkey.register.title"),
      notice: takeNotice(req),
      basePath,
      backPath,
      isForced,
      existing,
      isFull: existing.length >= maxPasskeysPerUser,
      maxPasskeys: maxPasskeysPerUser,
      nameMaxLength: passkeyNameMaxLength,
      browserWords: browserWordsFor(req),
      scripts: passkeyScripts,
    });
  });

  router.post("/options", async (req, res) => {
    const user = req.user!;
    // The name is checked before the prompt, so that a mistake in it costs no fingerprint.
    const form = nameField.safeParse(req.body ?? {});
    if (!form.success || normalisePasskeyName(form.data.name) === null) return refuse(req, res, passkeyWords.invalidName, "name");
    if ((await passkeys.listPasskeys(user.id)).length >= maxPasskeysPerUser) return refuse(req, res, passkeyWords.limitReached);
    const { options, challenge } = await passkeys.startRegistration(user);
    keepChallenge(req, "registration", challenge, clock.now());
    res.json({ options });
  });

  router.post("/", async (req, res) => {
    const user = req.user!;
    const challenge = takeChallenge(req, "registration", clock.now());
    if (!challenge) return refuse(req, res, passkeyWords.expired);
    const form = nameField.safeParse(req.body ?? {});
    if (!form.success) return refuse(req, res, passkeyWords.invalidName, "name");
    const response = parseAnswer(registrationResponseSchema, req.body);
    if (!response) return refuse(req, res, passkeyWords.malformed);
    const hadFactor = await twoFactor.hasSecondFactor(user.id);
    const result = await passkeys.finishRegistration(
      { userId: user.id, response: response as RegistrationResponseJSON, expectedChallenge: challenge, name: form.data.name },
      requestContext(req),
    );
    if (result.status !== "registered")
      return refuse(req, res, registrationWords[result.status], result.status === "invalid_name" ? "name" : undefined);
    await answerRedirectAsJson(req, res, async () => {
      await onEnrolled?.(req, res);
      await enrolmentStep.finishEnrolment(req, res, { hadFactor, notice: passkeyWords.registered.key, isForced });
    });
  });

  return router;
}

/**
 * The passkey step of a login, under /login/2fa/passkey (behind the login step's checks): GET
 * shows the page, POST /options starts the prompt, POST / checks the answer like any response
 * (counted toward the lock, passing the attempt once) and finishes the login, its redirect passed
 * to the script as `{ redirect }`. A user without passkeys is sent to the other methods.
 */
export function passkeyLoginRoutes({ passkeys, clock, twoFactor, loginStep }: PasskeyRouteDeps & { loginStep: LoginStep }) {
  const router = Router();
  const otherMethodsPath = "/login/2fa";

  router.get("/", async (req, res) => {
    if (!(await loginStep.requireEnrolled(req, res, "passkey"))) return;
    renderPage(res, "methods/passkey/login", {
      title: phrase("methods:passkey.login.title"),
      notice: takeNotice(req),
      basePath: req.baseUrl,
      otherMethodsPath,
      browserWords: browserWordsFor(req),
      scripts: passkeyScripts,
    });
  });

  router.post("/options", async (req, res) => {
    const started = await passkeys.startAuthentication(req.user!.id);
    if (started.status !== "started") return res.json({ redirect: otherMethodsPath });
    keepChallenge(req, "authentication", started.challenge, clock.now());
    res.json({ options: started.options });
  });

  router.post("/", async (req, res) => {
    const challenge = takeChallenge(req, "authentication", clock.now());
    if (!challenge) return refuse(req, res, passkeyWords.expired);
    const response = parseAnswer(authenticationResponseSchema, req.body);
    if (!response) return refuse(req, res, passkeyWords.malformed);
    const result = await twoFactor.verifyLoginResponse(
      {
        userId: req.user!.id,
        attemptId: req.session.loginAttemptId,
        kind: "passkey",
        response: JSON.stringify(response),
        challenge,
      },
      requestContext(req),
    );
    if (result.status === "wrong_code" || result.status === "replayed" || result.status === "malformed")
      return refuse(req, res, passkeyWords.wrong);
    if (result.status === "locked") {
      // The page the script goes to says so; a locked page cannot be an answer to fetch.
      await restartWithNotice(req, passkeyWords.locked);
      return res.json({ redirect: "/login" });
    }
    await answerRedirectAsJson(req, res, () =>
      loginStep.answerVerification(req, res, { kind: "passkey", result }, () => refuse(req, res, passkeyWords.wrong)),
    );
  });

  return router;
}

/**
 * Confirming a security change with a passkey, under /account: POST /confirm/passkey/options
 * starts the prompt and keeps its challenge for the confirmation form, which the script then
 * sends with the browser's answer as its code.
 */
export function passkeyConfirmRoutes({ passkeys, clock }: PasskeyRouteDeps) {
  const router = Router();
  router.post("/confirm/passkey/options", async (req, res) => {
    const started = await passkeys.startAuthentication(req.user!.id);
    if (started.status !== "started") return refuse(req, res, passkeyWords.failed);
    keepCeremonyChallenge(req, started.challenge, clock.now().getTime());
    res.json({ options: started.options });
  });
  return router;
}

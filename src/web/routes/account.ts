import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import { regionalTags, type Translate, translateMessage } from "../../i18n.js";
import type { FactorSummary } from "../../methods/method.js";
import { choicesOf, factorPages, findFactorPages, findLoginChoice } from "../../methods/page-list.js";
import type { LoginChoice } from "../../methods/pages.js";
import { hasUnsavedRecoveryCodes, newRecoveryCodesPath } from "../../methods/recovery/new-codes.js";
import { readFactorSummaries } from "../../methods/registry.js";
import type { MethodRouteDeps } from "../../methods/routes.js";
import { HttpError } from "../../services/errors.js";
import { isSecondFactorRequired } from "../../services/policy.js";
import { describeBackupSuggestion } from "../backup-suggestion.js";
import { enrolmentChoices } from "../enrolment-choices.js";
import { field, parseForm, passwordField } from "../forms.js";
import { type Message, phrase, wordsOf } from "../i18n-helpers.js";
import { renderLockedOut, renderSendLimited } from "../limit-pages.js";
import { requireRecentAuthentication, safeReturnPath, userFactorsOf } from "../middleware/guards.js";
import { describePasswordChangeRefusal } from "../password-words.js";
import { type FormError, renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { passwordChangedNotice } from "../security-change.js";
import { describeBrowser, describeSecurityEvent } from "../security-words.js";
import { saveSession, setNotice, takeNotice } from "../session.js";
import { findPendingAction, takeCeremonyChallenge, takePendingAction } from "../step-up.js";
import { formatClock, formatIp, localeOf } from "../view-helpers.js";
import { markBusy, passwordChecksBusy } from "./auth.js";

const confirmForm = z.object({
  password: passwordField(),
  code: field(4096, phrase("account:confirm.code")).trim().optional(),
  method: field(20, phrase("account:confirm.method")).optional(),
  next: field(500, phrase("forms:labels.returnAddress")).optional(),
  action: field(40, phrase("account:confirm.action")).optional(),
  _csrf: z.string().optional(),
});

const passwordForm = z.object({
  current: field(1024, phrase("account:password.current")).min(1, "account:password.currentMissing"),
  password: field(1024, phrase("account:password.new")).min(1, "account:password.newMissing"),
  repeat: field(1024, phrase("account:password.repeat")),
  _csrf: z.string().optional(),
});

const securityTitle = phrase("account:security.title");
const confirmTitle = phrase("account:confirm.title");
const passwordTitle = phrase("account:password.title");
const backToSecurity = { href: "/account/security", label: phrase("account:security.back") };

/** The answer to a code that is not right: the method's own words, or "That code is not right." and its hint. */
function wrongCodeMessage(confirm: NonNullable<LoginChoice["confirm"]>): Message {
  if (confirm.wrongMessage) return phrase(confirm.wrongMessage);
  return phrase("account:confirm.wrongCode", { hint: confirm.wrongCodeHint ? phrase(confirm.wrongCodeHint) : "" });
}

export type AccountDeps = MethodRouteDeps;

// Steps inside one login, which "Logged in (…)" already tells.
const hiddenSecurityEvents = ["2fa.code_accepted", "login.password_accepted", "2fa.challenge_sent"];

/** How many security events the security page lists (its table's caption says so: account:security.activityCaption). */
const securityEventLimit = 20;

/**
 * The security page's suggestion of a second method, in the page's words: the factor's own
 * sentence and reason, and a button that names what it adds ("Add" + "an authenticator app").
 */
function wordBackupSuggestion(t: Translate, enrolledKinds: Parameters<typeof describeBackupSuggestion>[0]) {
  const suggestion = describeBackupSuggestion(enrolledKinds);
  const enrolment = suggestion && factorPages.find((pages) => pages.enrolment?.backupWords === suggestion.words)?.enrolment;
  if (!suggestion || !enrolment) return null;
  return {
    href: suggestion.href,
    words: t(suggestion.words),
    why: t(suggestion.why),
    label: t(enrolment.addLabel),
    name: t(enrolment.addName),
  };
}

/** What a confirmation will finish: a catalogue key or a Phrase (a sentence from older code is shown as it is). */
function wordAction(t: Translate, words: Message): string {
  return typeof words === "string" ? t(words) : translateMessage(t, words);
}

/**
 * After a factor was set up from the security page (its pages at /account/2fa/<factor>): the other
 * sessions end and the user's phone hears of it, unless the factor warns on its own.
 */
export function finishAccountEnrolment({ securityChange }: Pick<AccountDeps, "securityChange">) {
  return async (req: Request, _res: Response, factorId: string) =>
    securityChange.afterSecurityChange(req, req.user!, findFactorPages(factorId)?.enrolment?.enrolledWarning ?? null);
}

/** The signed-in user's own security settings, under /account (behind requireStage("complete")). */
export function accountRoutes(deps: AccountDeps) {
  const {
    config,
    clock,
    audit,
    users,
    sessions,
    twoFactor,
    login,
    securityNotices,
    rememberedBrowserSteps,
    securityOverviews,
    resumableActions,
    securityChange,
  } = deps;
  const { afterSecurityChange } = securityChange;
  const router = Router();
  const stepUp = requireRecentAuthentication(clock);

  router.get("/security", async (req, res) => {
    const user = req.user!;
    const overview = await securityOverviews.findSecurityOverview(user.id, {
      eventLimit: securityEventLimit,
      hiddenEventTypes: hiddenSecurityEvents,
    });
    const summaries = readFactorSummaries(overview.factorSummaries);
    const kinds = req.userFactors ?? [];
    const hasSecondFactor = factorPages.some((pages) => pages.enrolment && summaries.has(pages.id));
    // The last factor of a user who must have one cannot be removed; one of its several items
    // (a passkey of two) can, since the others keep it.
    const realFactors = factorPages.filter((pages) => pages.removal && summaries.has(pages.id)).length;
    const canRemoveLastFactor = !isSecondFactorRequired(user.role, config) || realFactors > 1;
    const canRemove = (summary: FactorSummary) => canRemoveLastFactor || summary.items.length > 1;
    // The factors' words are catalogue keys (methods.json): worded here, in the page's language.
    const t = wordsOf(req);
    const format = { t, dateTime: res.locals.formatDateTime as (date: Date) => string };
    const defaultMethod = overview.lastLoginMethod ? findLoginChoice(overview.lastLoginMethod) : undefined;
    renderPage(res, "account/security", {
      title: securityTitle,
      notice: takeNotice(req),
      hasSecondFactor,
      backupSuggestion: wordBackupSuggestion(t, kinds),
      defaultMethod: defaultMethod ? t(defaultMethod.eventName) : null,
      factors: factorPages.map((pages) => {
        const summary = summaries.get(pages.id) ?? null;
        const manage = pages.manage(summary, hasSecondFactor);
        return {
          id: pages.id,
          name: t(pages.name),
          hint: pages.hint ? t(pages.hint) : null,
          status: pages.describe(summary, format, hasSecondFactor),
          enrolment: pages.enrolment
            ? {
                href: `/account/2fa/${pages.enrolment.path}`,
                label: t(summary ? pages.enrolment.changeLabel : pages.enrolment.addLabel),
                name: t(summary ? pages.enrolment.changeName : pages.enrolment.addName),
              }
            : null,
          removal:
            pages.removal && summary && canRemove(summary)
              ? {
                  href: `/account/2fa/${pages.id}/remove`,
                  name: t(pages.removal.name),
                  items: summary.items.map((item) => ({
                    id: item.id,
                    name: t(pages.removal!.itemName ?? pages.removal!.name, { name: item.name }),
                  })),
                }
              : null,
          manage: manage ? { href: manage.href, label: t(manage.label), name: t(manage.name) } : null,
        };
      }),
      otherSessions: Math.max(0, overview.sessionCount - 1),
      remembered: rememberedBrowserSteps.describeForSecurityPage(req, user, overview.rememberedBrowsers),
      events: overview.events.map((event) => ({
        at: event.occurredAt,
        what: describeSecurityEvent(event, t),
        ip: formatIp(event.ip),
        browser: describeBrowser(event.userAgent, wordsOf(req)),
      })),
      scripts: ["/public/js/reveal-supported.js"],
    });
  });

  // ---- Step-up: the password and, when the user has one, the second factor again ----

  /** The user's methods that can confirm a security change. */
  async function confirmChoices(req: Request) {
    return choicesOf(await userFactorsOf(req, twoFactor)).filter((choice) => choice.confirm);
  }

  async function renderConfirm(
    req: Request,
    res: Response,
    next: string,
    error: FormError | Message | null,
    status = 200,
    actionId: unknown = req.body?.action,
  ) {
    const t = wordsOf(req);
    const choices = await confirmChoices(req);
    const pending = findPendingAction(req, actionId, clock.now().getTime());
    const resumable = pending ? resumableActions.find(pending.path) : undefined;
    renderPage(
      res,
      "account/confirm",
      {
        title: confirmTitle,
        // The choices' words are catalogue keys (methods.json), worded here.
        choices: choices.map((choice) => ({
          kind: choice.kind,
          codeFormat: choice.codeFormat,
          needsBrowserSupport: choice.needsBrowserSupport,
          option: t(choice.confirm!.option),
          offer: t(choice.confirm!.offer),
          sendLabel: choice.confirm!.sendLabel ? t(choice.confirm!.sendLabel) : null,
          ceremony: choice.confirm!.ceremony
            ? { optionsPath: choice.confirm!.ceremony.optionsPath, failedMessage: t(choice.confirm!.ceremony.failedMessage) }
            : null,
        })),
        next,
        action: resumable ? pending!.id : null,
        actionWords: resumable && pending ? wordAction(t, resumable.words(pending.path)) : null,
        error,
        notice: takeNotice(req),
        scripts: [
          "/public/js/confirm-method.js",
          "/public/js/reveal-supported.js",
          ...new Set(choices.flatMap((choice) => choice.scripts)),
        ],
      },
      status,
    );
  }

  router.get("/confirm", (req, res) => renderConfirm(req, res, safeReturnPath(req.query.next), null, 200, req.query.action));

  // A method that sends its code first (an SMS): the code is bound to an attempt of its own, so it
  // is counted and expires like a login code; a resend keeps that attempt and its count.
  router.post("/confirm/:kind", async (req, res) => {
    const user = req.user!;
    const next = safeReturnPath(req.body?.next);
    const kind = req.params.kind;
    const method = twoFactor.findMethod(kind);
    const choice = (await confirmChoices(req)).find((candidate) => candidate.kind === kind);
    if (!method?.startChallenge || !choice?.confirm?.sendLabel) return res.redirect(303, "/account/confirm");
    const open = await twoFactor.findOpenAttempt(req.session.stepUpAttemptId, user.id);
    if (!open) req.session.stepUpAttemptId = await twoFactor.beginLoginAttempt(user.id);
    const result = await method.startChallenge(user.id, req.session.stepUpAttemptId!, requestContext(req));
    if (result.status === "locked") return renderLockedOut(res, { until: result.until, now: clock.now(), back: backToSecurity });
    if (result.status === "rate_limited") {
      const others = (await confirmChoices(req)).filter((other) => !other.usesPhone);
      const t = wordsOf(req);
      // "your authenticator app or a recovery code", "uw authenticator-app of een herstelcode".
      const offers = new Intl.ListFormat(regionalTags[localeOf(req)], { type: "disjunction" }).format(
        others.map((other) => t(other.confirm!.offer)),
      );
      return renderSendLimited(res, {
        retryAt: result.retryAt,
        now: clock.now(),
        alternativesHeading: phrase("account:confirm.otherWaysNow"),
        alternatives: others.length
          ? [
              {
                href: `/account/confirm?next=${encodeURIComponent(next)}`,
                label: t("account:confirm.confirmWith", { methods: offers }),
              },
            ]
          : [],
        back: backToSecurity,
      });
    }
    if (result.status === "failed") {
      const failure = choice.confirm.failedMessage?.(result.reason);
      return renderConfirm(req, res, next, phrase(failure ?? "account:confirm.sendFailed"), 502);
    }
    // The confirmation page keeps naming the action it will finish.
    const action = typeof req.body?.action === "string" ? `&action=${encodeURIComponent(req.body.action.slice(0, 40))}` : "";
    if (result.status === "too_soon") setNotice(req, "account:confirm.tooSoon");
    else setNotice(req, "account:confirm.sent", { destination: result.destination, time: formatClock(result.at, localeOf(req)) });
    res.redirect(303, `/account/confirm?next=${encodeURIComponent(next)}${action}`);
  });

  router.post("/confirm", async (req, res) => {
    const user = req.user!;
    const choices = await confirmChoices(req);
    const parsed = parseForm(confirmForm, req.body);
    const next = safeReturnPath(parsed.ok ? parsed.data.next : undefined);
    if (!parsed.ok) return renderConfirm(req, res, next, parsed.formError, 400);
    const passwordCheck = await login.checkPasswordLimited(user, parsed.data.password);
    if (passwordCheck === "busy") return renderConfirm(req, res, next, passwordChecksBusy, markBusy(res));
    if (passwordCheck !== "ok") {
      await audit.recordEvent(
        {
          type: "stepup.failed",
          actorUserId: user.id,
          subjectUserId: user.id,
          details: { reason: passwordCheck === "blocked" ? "blocked" : "password" },
        },
        requestContext(req),
      );
      // Wrong passwords here count like wrong passwords at login, with the same waiting time.
      return renderConfirm(req, res, next, { field: "password", message: phrase("account:confirm.wrongPassword") }, 401);
    }
    if (choices.length > 0) {
      const choice = choices.find((candidate) => candidate.kind === parsed.data.method) ?? choices[0]!;
      const kind = choice.kind;
      if (!parsed.data.code)
        return renderConfirm(req, res, next, { field: "code", message: phrase("account:confirm.codeMissing") }, 400);
      // A code that was sent is bound to the step-up's own attempt; the others are checked as they are.
      const result = choice.confirm?.sendLabel
        ? await twoFactor.verifyLoginResponse(
            { userId: user.id, attemptId: req.session.stepUpAttemptId, kind, response: parsed.data.code },
            requestContext(req),
          )
        : await twoFactor.verifyFreshResponse(
            { userId: user.id, kind, response: parsed.data.code, challenge: takeCeremonyChallenge(req, clock.now().getTime()) },
            requestContext(req),
          );
      if (result.status === "locked")
        return renderLockedOut(res, { until: result.until, now: clock.now(), back: backToSecurity });
      if (result.status === "malformed")
        return renderConfirm(req, res, next, { field: "code", message: phrase(choice.malformedMessage) }, 400);
      if (result.status === "replayed")
        return renderConfirm(req, res, next, { field: "code", message: phrase(choice.replayedMessage) }, 400);
      if (result.status !== "passed")
        return renderConfirm(req, res, next, { field: "code", message: wrongCodeMessage(choice.confirm!) }, 400);
    }
    delete req.session.stepUpAttemptId;
    req.session.authenticatedAt = clock.now().getTime();
    const pending = takePendingAction(req, parsed.data.action, clock.now().getTime());
    await saveSession(req);
    await audit.recordEvent({ type: "stepup.passed", actorUserId: user.id, subjectUserId: user.id }, requestContext(req));
    // The action that asked for the confirmation is finished now, not offered again.
    const resume = pending ? resumableActions.find(pending.path) : undefined;
    if (resume && pending) return resume.run(req, res, pending.path);
    res.redirect(303, next);
  });

  // ---- Password ----

  // A password set by an admin must be replaced before anything else, whenever in the session: the
  // login asked for it, and the form asks for it again. A step-up would send the user to
  // /account/confirm, which requireUser keeps closed until the password is changed.
  const stepUpUnlessForced = (returnPath?: string): RequestHandler => {
    const check = requireRecentAuthentication(clock, returnPath);
    return (req, res, next) => (req.user!.mustChangePassword ? next() : check(req, res, next));
  };

  router.get("/password", stepUpUnlessForced(), (req, res) => {
    renderPage(res, "account/password", {
      title: passwordTitle,
      error: null,
      forced: req.user!.mustChangePassword,
      notice: takeNotice(req),
    });
  });

  router.post("/password", stepUpUnlessForced("/account/password"), async (req, res) => {
    const user = req.user!;
    const again = (error: FormError, status = 400) =>
      renderPage(res, "account/password", { title: passwordTitle, error, forced: user.mustChangePassword }, status);
    const parsed = parseForm(passwordForm, req.body);
    if (!parsed.ok) return again(parsed.formError);
    const passwordCheck = await login.checkPasswordLimited(user, parsed.data.current);
    if (passwordCheck === "busy") return again({ field: "current", message: passwordChecksBusy }, markBusy(res));
    if (passwordCheck !== "ok") return again({ field: "current", message: phrase("account:password.wrongCurrent") }, 401);
    if (parsed.data.password !== parsed.data.repeat)
      return again({ field: "repeat", message: phrase("account:password.mismatch") });
    const result = await users.changePassword(user, parsed.data.password, requestContext(req));
    if (!result.ok) return again({ field: "password", message: describePasswordChangeRefusal(result, wordsOf(req)) });
    await afterSecurityChange(req, user, passwordChangedNotice);
    setNotice(req, "account:password.changed");
    // A temporary password is changed before anything else, even the recovery codes that came
    // with the first method set up at this login: they are shown once, so they come next.
    const showsNewCodes = user.mustChangePassword && hasUnsavedRecoveryCodes(req);
    res.redirect(303, showsNewCodes ? newRecoveryCodesPath : "/account/security");
  });

  // ---- Sessions ----

  router.post("/sessions/end-others", async (req, res) => {
    const user = req.user!;
    const { count: ended, generation } = await sessions.endOtherSessions(user.id, req.sessionID, requestContext(req));
    // This session stays valid: it moves to the new generation.
    req.session.generation = generation;
    await rememberedBrowserSteps.forgetOtherBrowsers(req, user);
    setNotice(req, "account:security.othersEnded", { count: ended });
    res.redirect(303, "/account/security");
  });

  // ---- Second factors ----

  // Where the invitation leads: the same choice a doctor gets at enrolment.
  router.get("/2fa", (req, res) => {
    renderPage(res, "account/choose-method", {
      title: phrase("account:chooseMethod.title"),
      ...enrolmentChoices(req.user!.role, "/account/2fa"),
    });
  });

  /**
   * Removes one factor (the phone covers SMS and call; `item`, one of several, such as a passkey).
   * The last factor of a user who must have one cannot go; when nothing is left, the recovery
   * codes go too.
   */
  async function removeFactor(req: Request, res: Response) {
    const user = req.user!;
    const pages = findFactorPages(String(req.params.factor ?? ""));
    if (!pages?.removal) return res.redirect(303, "/account/security");
    const item = typeof req.params.item === "string" ? req.params.item : undefined;
    const warn = await securityNotices.prepareWarning(user.id);
    const result = await twoFactor.removeFactor(
      { userId: user.id, factorId: pages.id, item, isSecondFactorRequired: isSecondFactorRequired(user.role, config) },
      requestContext(req),
    );
    if (result.status === "last_factor") throw new HttpError(403, phrase("account:security.lastFactor"));
    if (result.status === "not_found") {
      setNotice(req, "account:security.nothingRemoved");
      return res.redirect(303, "/account/security");
    }
    await afterSecurityChange(req, user, pages.removal.warning, warn);
    setNotice(req, pages.removal.removedNotice);
    res.redirect(303, "/account/security");
  }

  router.post("/2fa/:factor/remove{/:item}", stepUp, removeFactor);
  resumableActions.add({
    matches: (path) => /^\/account\/2fa\/[a-z]+\/remove(\/[\w-]+)?$/.test(path),
    words: (path) => findFactorPages(path.split("/")[3] ?? "")?.removal?.actionWords ?? "account:confirm.removeThisMethod",
    run: async (req, res, path) => {
      const [, , , factor, , item] = path.split("/");
      req.params.factor = factor ?? "";
      if (item) req.params.item = item;
      await removeFactor(req, res);
    },
  });

  router.post("/2fa/invitation/dismiss", (req, res) => {
    req.session.twoFactorInviteDismissed = true;
    res.redirect(303, "/");
  });

  return router;
}

import type { FactorPages, LoginChoice } from "../pages.js";

/** A login refused on the phone (9 pressed). */
export const refusedOnPhoneNotice = "methods:phone.refusedOnPhone";

const phoneChoice = {
  waitsForApproval: false,
  refusedNotice: refusedOnPhoneNotice,
  landing: null,
  isFallback: false,
  usesPhone: true,
  needsBrowserSupport: false,
  scripts: [],
  codeFormat: "digits",
} satisfies Partial<LoginChoice>;

export const phonePages: FactorPages = {
  id: "phone",
  name: "methods:phone.name",
  hint: "methods:phone.hint",
  describe: (summary, format) =>
    summary?.since
      ? format.t("methods:phone.status", { number: summary.facts.masked, date: format.dateTime(summary.since) })
      : format.t("methods:notSetUp"),
  enrolment: {
    path: "phone",
    addLabel: "methods:phone.add",
    changeLabel: "methods:phone.change",
    addName: "methods:phone.addName",
    changeName: "methods:phone.changeName",
    chooserLabel: "methods:phone.chooser",
    recommendedFor: [],
    backupWords: "methods:phone.backupWords",
    backupWhy: "methods:phone.backupWhy",
    backupLabel: "methods:phone.backupLabel",
    enrolledNotice: "methods:phone.enrolled",
    // The phone's own pages warn the number it replaced; the new number needs no notice.
    enrolledWarning: null,
  },
  removal: {
    object: "methods:phone.removalObject",
    name: "methods:phone.removeName",
    itemName: null,
    removedNotice: "methods:phone.removed",
    warning: "methods:phone.removedWarning",
    actionWords: "methods:phone.removeAction",
  },
  manage: () => null,
  logins: [
    {
      ...phoneChoice,
      kind: "sms",
      label: "methods:phone.sms.label",
      path: "/login/2fa/sms",
      start: { href: "/login/2fa/sms/send", method: "post" },
      eventName: "methods:phone.sms.eventName",
      sendWords: { sent: "methods:phone.sms.sent", failed: "methods:phone.sms.sendFailed" },
      malformedMessage: "methods:phone.sms.malformed",
      replayedMessage: "methods:phone.sms.replayed",
      wrongCodeHint: "methods:phone.sms.wrongHint",
      confirm: {
        option: "methods:phone.sms.confirmOption",
        offer: "methods:phone.sms.confirmOffer",
        wrongCodeHint: "methods:phone.sms.confirmWrongHint",
        sendLabel: "methods:phone.sms.sendLabel",
        failedMessage: (reason) => phoneFailureKey(reason, "sms"),
      },
    },
    {
      ...phoneChoice,
      kind: "call",
      label: "methods:phone.call.label",
      path: "/login/2fa/call",
      start: { href: "/login/2fa/call/start", method: "post" },
      waitsForApproval: true,
      eventName: "methods:phone.call.eventName",
      sendWords: { sent: "methods:phone.call.sent", failed: "methods:phone.call.sendFailed" },
      malformedMessage: "methods:phone.call.malformed",
      replayedMessage: "methods:phone.call.replayed",
      wrongCodeHint: "",
      confirm: null,
    },
  ],
  events: {
    enrolmentStarted: "methods:phone.events.started",
    enrolled: (details) => ({ key: details.changed ? "methods:phone.events.changed" : "methods:phone.events.added" }),
    removed: "methods:phone.events.removed",
  },
  resetNotice: (summary, format) => (summary ? format.t("methods:phone.resetNotice", { number: summary.facts.masked }) : null),
  adminFact: (summary, format) =>
    summary?.since
      ? format.t("methods:phone.status", { number: summary.facts.masked, date: format.dateTime(summary.since) })
      : null,
};

const failureReasons = ["no_phone", "unreachable_number", "unavailable", "busy", "no_answer", "failed"];

/** The key of the words for why the provider did not take a message or call (PhoneFailure). */
export function phoneFailureKey(reason: string, channel: "sms" | "call"): string {
  const known = failureReasons.includes(reason) ? reason : "failed";
  return known === "unreachable_number" ? `methods:phone.failures.${known}.${channel}` : `methods:phone.failures.${known}`;
}

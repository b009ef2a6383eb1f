import type { FactorPages } from "../pages.js";

export const recoveryPages: FactorPages = {
  id: "recovery",
  name: "methods:recovery.name",
  hint: null,
  describe: (summary, format, hasSecondFactor) =>
    hasSecondFactor
      ? format.t("methods:recovery.left", { count: summary?.remaining ?? 0 })
      : format.t("methods:recovery.beforeFirst"),
  enrolment: null,
  removal: null,
  manage: (_summary, hasSecondFactor) =>
    hasSecondFactor
      ? { href: "/account/recovery-codes", label: "methods:recovery.manage", name: "methods:recovery.manageName" }
      : null,
  logins: [
    {
      kind: "recovery",
      label: "methods:recovery.label",
      path: "/login/2fa/recovery",
      start: { href: "/login/2fa/recovery", method: "get" },
      waitsForApproval: false,
      refusedNotice: null,
      landing: "/account/recovery-code-used",
      isFallback: true,
      usesPhone: false,
      needsBrowserSupport: false,
      scripts: [],
      sendWords: null,
      codeFormat: "text",
      eventName: "methods:recovery.eventName",
      malformedMessage: "methods:recovery.malformed",
      replayedMessage: "methods:recovery.replayed",
      wrongCodeHint: "",
      confirm: { option: "methods:recovery.confirmOption", offer: "methods:recovery.confirmOffer", wrongCodeHint: "" },
    },
  ],
  events: {
    enrolmentStarted: "methods:recovery.events.started",
    enrolled: () => ({ key: "methods:recovery.events.enrolled" }),
    removed: "methods:recovery.events.removed",
  },
  resetNotice: () => null,
  adminFact: (summary, format) => format.t("methods:recovery.left", { count: summary?.remaining ?? 0 }),
};

import type { FactorPages } from "../pages.js";

export const recoveryPages: FactorPages = {
  id: "recovery",
  name: "Recovery codes",
  hint: null,
  describe: (summary, _format, hasSecondFactor) =>
    hasSecondFactor ? `${summary?.remaining ?? 0} left` : "Created when you turn on two-step login",
  enrolment: null,
  removal: null,
  manage: (_summary, hasSecondFactor) =>
    hasSecondFactor ? { href: "/account/recovery-codes", label: "Create new codes", object: "recovery codes" } : null,
  logins: [
    {
      kind: "recovery",
      label: "Use a recovery code",
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
      eventName: "a recovery code",
      malformedMessage: "Enter a recovery code as it is written: 15 letters and digits, such as 7kq2m-xw9ad-h3fne.",
      replayedMessage: "This recovery code was already used. Each code works once.",
      wrongCodeHint: "",
      confirm: { option: "A recovery code", offer: "a recovery code", wrongCodeHint: "" },
    },
  ],
  events: {
    enrolmentStarted: "Started creating recovery codes",
    enrolled: () => "Recovery codes created",
    removed: "Recovery codes removed",
  },
  resetNotice: () => null,
  adminFact: (summary) => `${summary?.remaining ?? 0} left`,
};

import type { FactorPages } from "../pages.js";
import { passkeyScripts } from "./assets.js";

export const passkeyPages: FactorPages = {
  id: "passkey",
  name: "methods:passkey.name",
  hint: "methods:passkey.hint",
  describe: (summary, format) =>
    summary
      ? summary.items
          .map((item) => format.t("methods:passkey.item", { name: item.name, date: format.dateTime(item.since) }))
          .join(", ")
      : format.t("methods:notSetUp"),
  enrolment: {
    path: "passkey",
    addLabel: "methods:passkey.add",
    changeLabel: "methods:passkey.change",
    addName: "methods:passkey.addName",
    changeName: "methods:passkey.changeName",
    chooserLabel: "methods:passkey.chooser",
    // It resists phishing, which codes do not: for the accounts that see many patients' data.
    recommendedFor: ["doctor", "admin"],
    backupWords: "methods:passkey.backupWords",
    backupWhy: "methods:passkey.backupWhy",
    backupLabel: "methods:passkey.backupLabel",
    enrolledNotice: "methods:passkey.enrolled",
    enrolledWarning: "methods:passkey.enrolledWarning",
  },
  removal: {
    object: "methods:passkey.removalObject",
    name: "methods:passkey.removeName",
    itemName: "methods:passkey.removeItemName",
    removedNotice: "methods:passkey.removed",
    warning: "methods:passkey.removedWarning",
    actionWords: "methods:passkey.removeAction",
  },
  manage: () => null,
  logins: [
    {
      kind: "passkey",
      label: "methods:passkey.label",
      path: "/login/2fa/passkey",
      start: { href: "/login/2fa/passkey", method: "get" },
      waitsForApproval: false,
      refusedNotice: null,
      landing: null,
      isFallback: false,
      usesPhone: false,
      needsBrowserSupport: true,
      scripts: passkeyScripts,
      sendWords: null,
      codeFormat: "text",
      eventName: "methods:passkey.eventName",
      malformedMessage: "methods:passkey.malformed",
      replayedMessage: "methods:passkey.replayed",
      wrongCodeHint: "",
      confirm: {
        option: "methods:passkey.confirmOption",
        offer: "methods:passkey.confirmOffer",
        wrongCodeHint: "",
        wrongMessage: "methods:passkey.confirmWrong",
        ceremony: { optionsPath: "/account/confirm/passkey/options", failedMessage: "methods:passkey.ceremonyFailed" },
      },
    },
  ],
  events: {
    enrolmentStarted: "methods:passkey.events.started",
    enrolled: (details) =>
      details.name
        ? { key: "methods:passkey.events.enrolledNamed", values: { name: details.name } }
        : { key: "methods:passkey.events.enrolled" },
    removed: "methods:passkey.events.removed",
  },
  resetNotice: () => null,
  adminFact: (summary, format) =>
    summary
      ? format.t("methods:passkey.admin", {
          count: summary.items.length,
          names: summary.items.map((item) => item.name).join(", "),
          date: format.dateTime(summary.since!),
        })
      : null,
};

import type { FactorPages } from "../pages.js";
import { passkeyScripts } from "./assets.js";

const names = (summary: { items: { name: string }[] } | null) => summary?.items.map((item) => item.name).join(", ") ?? "";

export const passkeyPages: FactorPages = {
  id: "passkey",
  name: "Passkeys",
  hint: "Fingerprint, face, screen lock or security key",
  describe: (summary, format) =>
    summary ? summary.items.map((item) => `${item.name} (added ${format.dateTime(item.since)})`).join(", ") : "Not set up",
  enrolment: {
    path: "passkey",
    addLabel: "Add",
    changeLabel: "Add another",
    addObject: "a passkey",
    changeObject: "passkey",
    chooserLabel: "Use a passkey: your fingerprint, face or screen lock",
    // It resists phishing, which codes do not: for the accounts that see many patients' data.
    recommendedFor: ["doctor", "admin"],
    backupWords: "Add a passkey as a back-up",
    backupWhy: "so you can log in with your fingerprint, face or screen lock.",
    enrolledNotice: "Your passkey was added. Your browser offers it when you log in with a passkey.",
    enrolledWarning: "a passkey was added to your two-step login.",
  },
  removal: {
    object: "the passkeys",
    removedNotice: "The passkey was removed from your account.",
    warning: "a passkey was removed from your two-step login.",
    actionWords: "remove the passkey",
  },
  manage: () => null,
  logins: [
    {
      kind: "passkey",
      label: "With a passkey",
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
      eventName: "a passkey",
      malformedMessage: "Your browser's answer could not be read. Try the passkey again.",
      replayedMessage: "That passkey answer was used already. Try the passkey again.",
      wrongCodeHint: "",
      confirm: {
        option: "My passkey",
        offer: "your passkey",
        wrongCodeHint: "",
        wrongMessage: "That passkey was not accepted. Try again, or choose another method.",
        ceremony: {
          optionsPath: "/account/confirm/passkey/options",
          failedMessage: "The passkey prompt was closed or did not work. Try again, or choose another method.",
        },
      },
    },
  ],
  events: {
    enrolmentStarted: "Started adding a passkey",
    enrolled: (details) => (details.name ? `Passkey added (${details.name})` : "Passkey added"),
    removed: "Passkey removed",
  },
  resetNotice: () => null,
  adminFact: (summary, format) =>
    summary ? `${summary.items.length} (${names(summary)}), first added ${format.dateTime(summary.since!)}` : null,
};

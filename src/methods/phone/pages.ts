import type { FactorPages, LoginChoice } from "../pages.js";

/** A login refused on the phone (9 pressed). */
export const refusedOnPhoneNotice =
  "This login was refused from your phone (9 was pressed), so nobody was logged in. If you did not try to log in, someone may know your password: log in with your password and your phone, change your password, and tell the practice.";

const phoneChoice = {
  waitsForApproval: false,
  refusedNotice: refusedOnPhoneNotice,
  landing: null,
  isFallback: false,
  usesPhone: true,
  needsBrowserSupport: false,
  scripts: [],
  codeFormat: "digits",
  replayedMessage: "This code was just used. Ask for a new code.",
} satisfies Partial<LoginChoice>;

export const phonePages: FactorPages = {
  id: "phone",
  name: "Mobile phone",
  hint: "SMS code or call",
  describe: (summary, format) =>
    summary?.since ? `${summary.facts.masked}, verified ${format.dateTime(summary.since)}` : "Not set up",
  enrolment: {
    path: "phone",
    addLabel: "Add",
    changeLabel: "Change number",
    addObject: "a mobile phone",
    changeObject: "of the mobile phone",
    chooserLabel: "Use my mobile phone (SMS or call)",
    recommendedFor: [],
    backupWords: "Add your phone as a back-up",
    backupWhy: "so you can still log in without the app.",
    enrolledNotice: "Your phone number is confirmed. You can now log in by SMS or phone call.",
    // The phone's own pages warn the number it replaced; the new number needs no notice.
    enrolledWarning: null,
  },
  removal: {
    object: "the mobile phone",
    removedNotice: "Your phone number was removed: SMS and phone calls are no longer used to log in.",
    warning: "your phone number was removed from your two-step login.",
    actionWords: "remove your phone number",
  },
  manage: () => null,
  logins: [
    {
      ...phoneChoice,
      kind: "sms",
      label: "By SMS",
      path: "/login/2fa/sms",
      start: { href: "/login/2fa/sms/send", method: "post" },
      eventName: "an SMS code",
      sendWords: { sent: "Code sent by SMS", failed: "SMS could not be sent" },
      malformedMessage: "Enter the 6 digits from the SMS.",
      wrongCodeHint: " A code works once, for 5 minutes, and only the newest code counts.",
      confirm: {
        option: "The SMS I received",
        offer: "an SMS code",
        wrongCodeHint: " Ask for a new SMS code if it has expired.",
        sendLabel: "Send me a code by SMS",
        failedMessage: (reason) => describePhoneFailure(reason, "sms"),
      },
    },
    {
      ...phoneChoice,
      kind: "call",
      label: "With a phone call",
      path: "/login/2fa/call",
      start: { href: "/login/2fa/call/start", method: "post" },
      waitsForApproval: true,
      eventName: "a phone call",
      sendWords: { sent: "Confirmation call placed", failed: "Confirmation call failed" },
      malformedMessage: "Answer the call and press 1.",
      wrongCodeHint: "",
      confirm: null,
    },
  ],
  events: {
    enrolmentStarted: "Started setting up a phone",
    enrolled: (details) => (details.changed ? "Phone number changed" : "Phone number added"),
    removed: "Phone number removed",
  },
  resetNotice: (summary) => (summary ? `sends a warning SMS to ${summary.facts.masked}` : null),
  adminFact: (summary, format) => (summary?.since ? `${summary.facts.masked}, verified ${format.dateTime(summary.since)}` : null),
};

/** Why the provider did not take a message or call (PhoneFailure), as the pages say it. */
export const phoneFailureMessages: Record<string, { sms: string; call: string }> = {
  no_phone: {
    sms: "There is no verified phone number on your account.",
    call: "There is no verified phone number on your account.",
  },
  unreachable_number: {
    sms: "The phone provider could not reach this number (it may be invalid or unable to receive text messages).",
    call: "The phone provider could not reach this number (it may be invalid or unable to receive calls).",
  },
  unavailable: {
    sms: "Text messages and calls are not available right now. Please choose another method.",
    call: "Text messages and calls are not available right now. Please choose another method.",
  },
  busy: {
    sms: "The phone provider is busy. Please try again in a minute or choose another method.",
    call: "The phone provider is busy. Please try again in a minute or choose another method.",
  },
  no_answer: {
    sms: "The phone provider did not answer in time. Please try again or choose another method.",
    call: "The phone provider did not answer in time. Please try again or choose another method.",
  },
  failed: {
    sms: "The phone provider could not handle this request. Please try again or choose another method.",
    call: "The phone provider could not handle this request. Please try again or choose another method.",
  },
};

export function describePhoneFailure(reason: string, channel: "sms" | "call"): string {
  return (phoneFailureMessages[reason] ?? phoneFailureMessages.failed!)[channel];
}

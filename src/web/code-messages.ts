import type { MethodKind } from "../services/two-factor/index.js";

// What the pages say about a typed code, whatever it is for (login, step-up, enrolment): the
// services say what happened, these are the words for it.

/** A code in the wrong format (letters, too few digits): said first, and it costs no try. */
export const malformedCodeMessages: Record<MethodKind, string> = {
  app: "Enter the 6 digits from your app.",
  sms: "Enter the 6 digits from the SMS.",
  call: "Answer the call and press 1.",
  recovery: "Enter a recovery code as it is written: 15 letters and digits, such as 7kq2m-xw9ad-h3fne.",
};

/** An app code already used for the last login or confirmation: not a wrong guess. */
export const replayedCodeMessage = "This code was just used. Wait for the next code in your app.";

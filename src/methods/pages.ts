import type { Role } from "../config.js";
import type { FactorSummary, MethodKind } from "./method.js";

// What the web layer shows of each factor: its words and where its pages are. Each factor's folder
// exports one FactorPages; the security page, the method-choice page, the step-up confirmation,
// the enrolment chooser, the admin page and the security events' words iterate them.
//
// Every word here is a key of the catalogues (locales/<language>/methods.json): pages translate it
// (`t(choice.label)`); the functions get the page's own words and date format.

/** The page's words and dates, in its language. */
export interface PageFormat {
  t(key: string, values?: Record<string, unknown>): string;
  dateTime(date: Date): string;
}

/** One way to pass the second step, as the login and confirmation pages offer it. */
export interface LoginChoice {
  kind: MethodKind;
  /** The method-choice page's button: "By SMS". */
  label: string;
  /** Where its login pages are: "/login/2fa/app". */
  path: string;
  /** Where the button goes: a page, or a form that starts the method (sends the SMS, places the call). */
  start: { href: string; method: "get" | "post" };
  /** The login is approved elsewhere (a key pressed on the phone): its page may show a passed or refused attempt. */
  waitsForApproval: boolean;
  /** What the login page says when the login was refused with it ("not me" on the phone). */
  refusedNotice: string | null;
  /** Where a login with it lands instead of the user's page (a recovery code: how many are left). */
  landing: string | null;
  /** Offered below the buttons as a way out ("Use a recovery code"), not as a button. */
  isFallback: boolean;
  /** Sends to the user's phone: a page saying sending is paused offers the methods that do not. */
  usesPhone: boolean;
  /** Shown only where the browser can do it (scripts reveal it): a passkey. */
  needsBrowserSupport: boolean;
  /** The scripts a page that offers it needs (a browser ceremony's). */
  scripts: string[];
  /** What the user types: digits (a numeric keyboard, one-time-code autofill) or text (letters too). */
  codeFormat: "digits" | "text";
  /** How the security events name it: "an SMS code". */
  eventName: string;
  /** For a method that sends something: the security events' words for a send and a failed one. */
  sendWords: null | { sent: string; failed: string };
  /** The answer to a response in the wrong format (no try is counted). */
  malformedMessage: string;
  /** The answer to a code just used (the app still shows the last login's code). */
  replayedMessage: string;
  /** Added to "That code is not right." at login. */
  wrongCodeHint: string;
  /** How the confirmation before a security change uses it; null when it cannot. */
  confirm: null | {
    /** In the "where the code comes from" list: "My authenticator app". */
    option: string;
    /** "Confirm with your authenticator app", on a page that offers the others. */
    offer: string;
    /** Added to "That code is not right." */
    wrongCodeHint: string;
    /** Instead of "That code is not right.": for a method where nothing is typed. */
    wrongMessage?: string;
    /**
     * A browser ceremony instead of a typed code: the page's script asks this path (POST) for the
     * ceremony's options, the server keeps its challenge (keepCeremonyChallenge), and the script
     * puts the browser's answer in the code field.
     */
    ceremony?: { optionsPath: string; failedMessage: string };
    /** The method sends something first (startChallenge): the button that asks for it. */
    sendLabel?: string;
    /** Why sending failed (the reason startChallenge gave), in words. */
    failedMessage?(reason: string): string;
  };
}

export interface FactorPages {
  id: string;
  /** On the security and admin pages: "Authenticator app". */
  name: string;
  /** Under the name: "SMS code or call". */
  hint: string | null;
  /** The status cell of the security page: "Set up 30 Nov 2026", "3 left"; `null` summary: none. */
  describe(summary: FactorSummary | null, format: PageFormat, hasSecondFactor: boolean): string;
  /** Setting it up, at /account/2fa/<path> and /enrol/<path>; null when it comes with another. */
  enrolment: null | {
    path: string;
    /** The security page's buttons. */
    addLabel: string;
    changeLabel: string;
    /** The buttons' whole names, as a screen reader reads them: "Add an authenticator app". */
    addName: string;
    changeName: string;
    /** The enrolment chooser's button. */
    chooserLabel: string;
    /** Shown first and marked recommended for these roles. */
    recommendedFor: readonly Role[];
    /**
     * Why a user who has only this method should add another, as the end of the back-up
     * suggestion: "so you can still log in without the app." (said of the app).
     */
    backupWhy: string;
    /** The suggestion to add this method as a back-up: "Add your phone as a back-up". */
    backupWords: string;
    /** The button that goes with it: "Add your phone". */
    backupLabel: string;
    /** When it is set up and the user keeps their recovery codes. */
    enrolledNotice: string;
    /** The SMS to the user's phone after it was set up from the security page (null: it warns on its own). */
    enrolledWarning: string | null;
  };
  /** Removing it from the security page; null when it cannot be removed on its own. */
  removal: null | {
    /** The factor as a sentence names it: "the authenticator app". */
    object: string;
    /** The Remove button's whole name: "Remove the authenticator app"; with `{{name}}` for one of several items. */
    name: string;
    itemName: string | null;
    removedNotice: string;
    /** The SMS to the user's phone before it goes. */
    warning: string;
    /** The confirmation page says it will "remove the authenticator app". */
    actionWords: string;
  };
  /** A link to manage what the user has of it (recovery codes: create new ones). */
  manage(summary: FactorSummary | null, hasSecondFactor: boolean): { href: string; label: string; name: string } | null;
  logins: LoginChoice[];
  /** The words of the security events about it (keys; `enrolled` picks one for the event's details). */
  events: {
    enrolmentStarted: string;
    enrolled(details: Record<string, unknown>): { key: string; values?: Record<string, unknown> };
    removed: string;
  };
  /** What an admin reset also does because of it ("sends a warning SMS to 06 •• 78"), or null. */
  resetNotice(summary: FactorSummary | null, format: PageFormat): string | null;
  /** One line for the admin's user page, or null when the user has none of it. */
  adminFact(summary: FactorSummary | null, format: PageFormat): string | null;
}

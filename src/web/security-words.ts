import { englishWords, type Translate } from "../i18n.js";
import { findFactorPages, findLoginChoice } from "../methods/page-list.js";
import type { AuditEvent } from "../services/audit.js";
import { identifyBrowser } from "../services/user-agents.js";

// User-facing words for security events (locales/<language>/events.json): the security page and
// the admin pages list events in plain words. Each factor words its own (methods/<factor>/pages.ts).

type Describe = (event: AuditEvent, t: Translate) => string;

const methodOf = (event: AuditEvent, t: Translate) => {
  const choice = findLoginChoice(String(event.details.method ?? ""));
  return choice ? t(choice.eventName) : t("events:twoStepLogin");
};
const sendWordsOf = (event: AuditEvent) => findLoginChoice(String(event.details.channel ?? ""))?.sendWords;
const factorOf = (event: AuditEvent) => findFactorPages(String(event.details.method ?? ""));

// Why remembered browsers were forgotten (services/remembered-browsers.ts, ForgetReason).
const forgottenReasons = [
  "user_all",
  "password_changed",
  "signed_out_elsewhere",
  "second_factor_changed",
  "second_factor_reset",
  "role_changed",
  "account_disabled",
];

function describeForgotten(event: AuditEvent, t: Translate): string {
  const reason = String(event.details.reason);
  if (reason === "user") {
    const browser = (event.details.browsers as string[] | undefined)?.[0] ?? t("events:forgotten.aBrowser");
    return t("events:forgotten.user", { browser });
  }
  return t(forgottenReasons.includes(reason) ? `events:forgotten.${reason}` : "events:forgotten.other");
}

function describeLogin(event: AuditEvent, t: Translate): string {
  switch (event.details.method) {
    case "password":
      return t("events:loggedInPasswordOnly");
    case "enrolment":
      return t("events:loggedInAfterEnrolment");
    case "remembered_browser":
      return t("events:loggedInRemembered", { browser: event.details.browser });
    default:
      return t("events:loggedInWith", { method: methodOf(event, t) });
  }
}

const eventWords: Record<string, Describe> = {
  "login.succeeded": describeLogin,
  "login.failed": (_event, t) => t("events:loginFailed"),
  "login.password_accepted": (_event, t) => t("events:passwordAccepted"),
  "login.enrolment_required": (_event, t) => t("events:enrolmentRequired"),
  logout: (_event, t) => t("events:logout"),
  "user.created": (_event, t) => t("events:userCreated"),
  "password.changed": (_event, t) => t("events:passwordChanged"),
  "sessions.ended_others": (_event, t) => t("events:endedOthers"),
  "stepup.passed": (_event, t) => t("events:stepUpPassed"),
  "stepup.failed": (_event, t) => t("events:stepUpFailed"),
  "2fa.enrolment_started": (event, t) => t(factorOf(event)?.events.enrolmentStarted ?? "events:enrolmentStarted"),
  "2fa.enrolment_completed": (event, t) => {
    const words = factorOf(event)?.events.enrolled(event.details);
    return words ? t(words.key, words.values) : t("events:enrolmentCompleted");
  },
  "2fa.removed": (event, t) => t(factorOf(event)?.events.removed ?? "events:removed"),
  "2fa.code_accepted": (event, t) => t("events:codeAccepted", { method: methodOf(event, t) }),
  "2fa.code_refused": (event, t) => t("events:codeRefused", { method: methodOf(event, t) }),
  "2fa.recovery_code_used": (_event, t) => t("events:recoveryCodeUsed"),
  "2fa.recovery_codes_generated": (_event, t) => t("events:recoveryCodesGenerated"),
  "2fa.recovery_codes_regenerated": (_event, t) => t("events:recoveryCodesRegenerated"),
  "2fa.locked": (_event, t) => t("events:locked"),
  "2fa.attempt_voided": (_event, t) => t("events:attemptVoided"),
  "2fa.challenge_sent": (event, t) => t(sendWordsOf(event)?.sent ?? "events:challengeSent"),
  "2fa.challenge_failed": (event, t) => t(sendWordsOf(event)?.failed ?? "events:challengeFailed"),
  "2fa.send_limited": (_event, t) => t("events:sendLimited"),
  "2fa.call_denied": (_event, t) => t("events:callDenied"),
  "2fa.call_refused_locked": (_event, t) => t("events:callRefusedLocked"),
  "2fa.reset": (_event, t) => t("events:reset"),
  "login.rate_limited": (_event, t) => t("events:loginRateLimited"),
  "browser.remembered": (event, t) => t("events:browserRemembered", { browser: event.details.browser, days: event.details.days }),
  "browser.forgotten": describeForgotten,
  "login.ip_blocked": (_event, t) => t("events:ipBlocked"),
  "login.ip_block_ended": (event, t) => t("events:ipBlockEnded", { count: Number(event.details.refused ?? 0) }),
  "admin.user_created": (_event, t) => t("events:adminUserCreated"),
  "admin.role_changed": (event, t) => t("events:adminRoleChanged", { from: event.details.from, to: event.details.to }),
  "admin.user_disabled": (_event, t) => t("events:adminUserDisabled"),
  "admin.user_enabled": (_event, t) => t("events:adminUserEnabled"),
  "admin.user_unlocked": (_event, t) => t("events:adminUserUnlocked"),
  "admin.patient_assigned": (_event, t) => t("events:adminPatientAssigned"),
  "admin.patient_unassigned": (_event, t) => t("events:adminPatientUnassigned"),
  "admin.audit_exported": (_event, t) => t("events:adminAuditExported"),
};

/** An event in plain words, in the page's language (English where no page asks). */
export function describeSecurityEvent(event: AuditEvent, t: Translate = englishWords()): string {
  return eventWords[event.type]?.(event, t) ?? event.type.replace(/[._]/g, " ");
}

/** "Chrome on Android": enough to recognise one's own device, from the User-Agent header. */
export function describeBrowser(userAgent: string | null | undefined, t: Translate = englishWords()): string {
  const found = identifyBrowser(userAgent);
  if (!found) return t("events:browser.unknown");
  const browser = found.browser ?? t("events:browser.some");
  return found.os ? t("events:browser.on", { browser, os: found.os }) : browser;
}

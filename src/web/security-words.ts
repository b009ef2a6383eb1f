import { findFactorPages, findLoginChoice } from "../methods/page-list.js";
import type { AuditEvent } from "../services/audit.js";

// User-facing words for security events, kept together: the security page lists a user's recent
// events in plain words. Each factor words its own (methods/<factor>/pages.ts).

const methodOf = (event: AuditEvent) => findLoginChoice(String(event.details.method ?? ""))?.eventName ?? "two-step login";
const sendWordsOf = (event: AuditEvent) => findLoginChoice(String(event.details.channel ?? ""))?.sendWords;
const factorOf = (event: AuditEvent) => findFactorPages(String(event.details.method ?? ""));

// Why remembered browsers were forgotten (services/remembered-browsers.ts, ForgetReason).
const forgottenWords: Record<string, (event: AuditEvent) => string> = {
  user: (event) => `Remembered browser forgotten (${(event.details.browsers as string[] | undefined)?.[0] ?? "a browser"})`,
  user_all: () => "All remembered browsers forgotten",
  password_changed: () => "Remembered browsers forgotten: password changed",
  signed_out_elsewhere: () => "Other remembered browsers forgotten: signed out everywhere else",
  second_factor_changed: () => "Other remembered browsers forgotten: a method of two-step login changed",
  second_factor_reset: () => "Remembered browsers forgotten: two-step login reset by the practice",
  role_changed: () => "Remembered browsers forgotten: role changed",
  account_disabled: () => "Remembered browsers forgotten: account disabled",
};

const eventWords: Record<string, (event: AuditEvent) => string> = {
  "login.succeeded": (event) =>
    event.details.method === "password"
      ? "Logged in with the password only"
      : event.details.method === "enrolment"
        ? "Logged in after setting up two-step login"
        : event.details.method === "remembered_browser"
          ? `Logged in on a remembered browser (${event.details.browser}), without the second step`
          : `Logged in with ${methodOf(event)}`,
  "login.failed": () => "Failed login: wrong password",
  "login.password_accepted": () => "Password accepted, second step asked",
  "login.enrolment_required": () => "Password accepted, two-step login had to be set up",
  logout: () => "Logged out",
  "user.created": () => "Account created",
  "password.changed": () => "Password changed",
  "sessions.ended_others": () => "Signed out everywhere else",
  "stepup.passed": () => "Confirmed identity for a security change",
  "stepup.failed": () => "Wrong password while confirming identity",
  "2fa.enrolment_started": (event) => factorOf(event)?.events.enrolmentStarted ?? "Started setting up two-step login",
  "2fa.enrolment_completed": (event) => factorOf(event)?.events.enrolled(event.details) ?? "Two-step login method set up",
  "2fa.removed": (event) => factorOf(event)?.events.removed ?? "Two-step login method removed",
  "2fa.code_accepted": (event) => `Second step passed with ${methodOf(event)}`,
  "2fa.code_refused": (event) => `Wrong code (${methodOf(event)})`,
  "2fa.recovery_code_used": () => "Recovery code used",
  "2fa.recovery_codes_generated": () => "Recovery codes created",
  "2fa.recovery_codes_regenerated": () => "New recovery codes created (the old ones stopped working)",
  "2fa.locked": () => "Two-step login locked after too many wrong codes",
  "2fa.attempt_voided": () => "Login stopped after too many wrong codes",
  "2fa.challenge_sent": (event) => sendWordsOf(event)?.sent ?? "Code sent",
  "2fa.challenge_failed": (event) => sendWordsOf(event)?.failed ?? "Code could not be sent",
  "2fa.send_limited": () => "Too many codes or calls asked for: sending paused",
  "2fa.call_denied": () => "Login refused on the phone (9 pressed)",
  "2fa.call_refused_locked": () => "1 pressed on the phone while two-step login was locked: login not confirmed",
  "2fa.reset": () => "Two-step login reset by the practice",
  "login.rate_limited": () => "Login refused: too many failures from one network",
  "browser.remembered": (event) => `${event.details.browser} remembered: no second step there for ${event.details.days} days`,
  "browser.forgotten": (event) => forgottenWords[String(event.details.reason)]?.(event) ?? "Remembered browsers forgotten",
  "login.ip_blocked": () => "Logins from one network paused after too many failures",
  "login.ip_block_ended": (event) => `Pause of logins from one network ended (${Number(event.details.refused ?? 0)} refused)`,
  "admin.user_created": () => "Account created by an admin",
  "admin.role_changed": (event) => `Role changed from ${event.details.from} to ${event.details.to}`,
  "admin.user_disabled": () => "Account disabled by an admin",
  "admin.user_enabled": () => "Account enabled by an admin",
  "admin.user_unlocked": () => "Account unlocked by an admin",
  "admin.patient_assigned": () => "Patient linked to a doctor",
  "admin.patient_unassigned": () => "Patient unlinked from a doctor",
  "admin.audit_exported": () => "Audit log exported",
};

export function describeSecurityEvent(event: AuditEvent): string {
  return eventWords[event.type]?.(event) ?? event.type.replace(/[._]/g, " ");
}

/** "Chrome on Android": enough to recognise one's own device, from the User-Agent header. */
export { describeBrowser } from "../services/user-agents.js";

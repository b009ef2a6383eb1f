import assert from "node:assert/strict";
import { test } from "node:test";
import { createI18n, translatorFor } from "../../src/i18n.js";
import type { SecondFactorReset } from "../../src/services/admin/index.js";
import { describeAdminOutcome, describeAdminRefusal, describeSecondFactorReset } from "../../src/web/admin-words.js";

// The administration's sentences in English (the default, which the command line uses) and in
// the Dutch the admin pages pass.

const dutch = translatorFor(createI18n({ defaultLocale: "en" }), "nl");

const reset: SecondFactorReset = {
  user: { id: 7, email: "joost@praktijk.nl", name: "Joost Bakker", role: "doctor" },
  removedMethods: ["app", "sms", "call"],
  recoveryCodesRemoved: 10,
  sessionsEnded: 2,
  removedPhoneNumbers: ["+31612345678"],
  phoneWarnings: { sent: 1, failed: 0 },
  mustEnrolAgain: true,
};

test("a reset names each removed factor once (the phone for its SMS and its calls), then the codes and sessions", () => {
  assert.equal(
    describeSecondFactorReset(reset),
    "Two-step login of Joost Bakker (joost@praktijk.nl) was reset. Removed: the authenticator app, the mobile phone, 10 recovery codes. 2 active sessions ended. The old phone number was warned by SMS. They must set up a new method at their next login.",
  );
  assert.equal(
    describeSecondFactorReset(reset, dutch),
    "Inloggen in twee stappen van Joost Bakker (joost@praktijk.nl) is teruggezet. Verwijderd: de authenticator-app, de mobiele telefoon, 10 herstelcodes. 2 actieve sessies zijn beëindigd. Het oude telefoonnummer is per sms gewaarschuwd. De gebruiker moet bij de volgende keer inloggen een nieuwe manier instellen.",
  );
});

test("a reset of someone without factors, one session and a failed warning", () => {
  const bare = {
    ...reset,
    removedMethods: [],
    recoveryCodesRemoved: 0,
    sessionsEnded: 1,
    phoneWarnings: { sent: 0, failed: 1 },
    mustEnrolAgain: false,
  };
  assert.match(
    describeSecondFactorReset(bare),
    /was reset\. They had no methods or recovery codes\. 1 active session ended\. Warning the old phone number failed\. They can log in/,
  );
  assert.match(
    describeSecondFactorReset(bare, dutch),
    /De gebruiker had geen manieren van inloggen en geen herstelcodes\. 1 actieve sessie is beëindigd\./,
  );
});

test("a role change says what else it did, with the roles in the sentence's language", () => {
  const changed = {
    ok: true,
    outcome: "role_changed",
    from: "doctor",
    to: "patient",
    sessionsEnded: 1,
    linksRemoved: 2,
    mustEnrol: false,
  } as const;
  assert.equal(
    describeAdminOutcome(changed),
    "The role changed from doctor to patient. 1 active session ended. 2 doctor–patient links were removed.",
  );
  assert.equal(
    describeAdminOutcome(changed, dutch),
    "De rol is gewijzigd van arts naar patiënt. 1 actieve sessie is beëindigd. 2 koppelingen tussen arts en patiënt zijn verwijderd.",
  );
});

test("a refusal keeps its status; numbers are written the language's way", () => {
  const tooMany = { ok: false, reason: "too_many_events", limit: 10000 } as const;
  assert.deepEqual(describeAdminRefusal(tooMany), {
    status: 400,
    message: "More than 10,000 events match. Choose a shorter date range or another filter.",
  });
  assert.equal(
    describeAdminRefusal(tooMany, dutch).message,
    "Er passen meer dan 10.000 gebeurtenissen bij. Kies een kortere periode of een ander filter.",
  );
  assert.equal(describeAdminRefusal({ ok: false, reason: "own_role" }, dutch).status, 403);
});

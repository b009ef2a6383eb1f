import assert from "node:assert/strict";
import { test } from "node:test";
import { maxPortalNameLength } from "../../src/config.js";
import { countGsm7Septets, nonGsm7Characters, septetsPerSegment } from "../../src/gateways/gsm7.js";
import { createI18n, locales, translatorFor } from "../../src/i18n.js";
import { factorPages } from "../../src/methods/page-list.js";
import { passwordChangedNotice, wordSecurityNotice } from "../../src/web/security-change.js";

// The SMS after a change on the security page (a method added or removed, the password changed)
// is worded in the page's language, and fits one GSM-7 text message in each, after the longest
// portal name the configuration allows ("<portal name>: <notice>", as sendSecurityNotice sends it).

const i18n = createI18n({ defaultLocale: "en" });
const longestName = "Huisartsenpraktijk Oude Vaart Amsterdam-".padEnd(maxPortalNameLength, "Z").slice(0, maxPortalNameLength);

/** Every change the security page tells the phone of: the factors' own words and the password's. */
const changes = [
  ...factorPages.flatMap((pages) => [pages.removal?.warning, pages.enrolment?.enrolledWarning]),
  passwordChangedNotice,
].filter((key): key is string => typeof key === "string");

test("every security notice, in every language, fits one GSM-7 segment after the portal's name", () => {
  assert.ok(changes.length >= 5, `the changes were found (${changes.length})`);
  for (const locale of locales) {
    const words = translatorFor(i18n, locale);
    for (const key of changes) {
      const text = `${longestName}: ${wordSecurityNotice(words, key)}`;
      assert.doesNotMatch(text, /methods:|account:/, `${locale} ${key} has words`);
      assert.deepEqual(nonGsm7Characters(text), [], `${locale} ${key}: only GSM-7 characters`);
      const septets = countGsm7Septets(text)!;
      assert.ok(septets <= septetsPerSegment, `${locale} ${key}: ${septets} septets: ${text}`);
    }
    // The old number hears that it was replaced, with the new one's last digits.
    const changed = `${longestName}: ${words("methods:phone.changedWarning", { digits: "78" })}`;
    assert.deepEqual(nonGsm7Characters(changed), [], `${locale}: the number-changed SMS has only GSM-7 characters`);
    assert.ok(countGsm7Septets(changed)! <= septetsPerSegment, `${locale}: ${changed}`);
  }
});

test("the notice says what changed and what to do, in the language it is given", () => {
  const [english, dutch] = (["en", "nl"] as const).map((locale) => translatorFor(i18n, locale));
  assert.equal(
    wordSecurityNotice(english!, passwordChangedNotice),
    "your password was changed. If you did not do this, contact the practice.",
  );
  assert.equal(
    wordSecurityNotice(dutch!, "methods:phone.removedWarning"),
    "uw telefoonnummer is verwijderd uit uw inloggen in twee stappen. Was u dit niet? Bel dan de praktijk.",
  );
});

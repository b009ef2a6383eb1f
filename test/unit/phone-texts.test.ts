import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { loadConfig, maxPortalNameLength, maxPublicHostLength } from "../../src/config.js";
import { countGsm7Septets, isGsm7, nonGsm7Characters, septetsPerSegment } from "../../src/gateways/gsm7.js";
import { buildConfirmationTwiml, buildSpokenEndTwiml } from "../../src/gateways/twiml.js";
import { createI18n, locales, readCatalogues, translatorFor } from "../../src/i18n.js";
import { smsCodeLifetimeMinutes } from "../../src/methods/phone/phone.js";
import { buildCodeMessage } from "../../src/methods/phone/phone-messages.js";

// Every SMS the portal sends fits one GSM-7 segment in every language, with the longest portal
// name and host the configuration allows; the phone call speaks the user's language.

const i18n = createI18n({ defaultLocale: "en" });
const quiet = () => undefined;
const dataDir = mkdtempSync(path.join(tmpdir(), "portal-phone-texts-"));

// The longest values the configuration accepts (checked below), made of characters that each take
// one septet: a name of extension characters is refused by its own length in septets.
const longestName = "Huisartsenpraktijk Oude Vaart Amsterdam-".padEnd(maxPortalNameLength, "Z").slice(0, maxPortalNameLength);
const longestHost = `${"mijn.".padEnd(maxPublicHostLength - 3, "x")}.nl`;

test("GSM-7: extension characters count twice, other alphabets are not GSM-7", () => {
  assert.equal(countGsm7Septets("Code 123456"), 11);
  assert.equal(countGsm7Septets("é à ü Ä"), 7);
  assert.equal(countGsm7Septets("€[]"), 6);
  assert.equal(countGsm7Septets("Zoë"), null);
  assert.equal(isGsm7("patiënt"), false);
  assert.deepEqual(nonGsm7Characters("Coëlho “praktijk”"), ["ë", "“", "”"]);
});

test("the longest name and host the configuration allows are the ones counted here", () => {
  assert.equal(longestName.length, maxPortalNameLength);
  assert.equal(longestHost.length, maxPublicHostLength);
  const config = loadConfig({ DATA_DIR: dataDir, PORTAL_NAME: longestName, PUBLIC_BASE_URL: `https://${longestHost}` }, quiet);
  assert.equal(config.portalName, longestName);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, PORTAL_NAME: `${longestName}x` }, quiet), /PORTAL_NAME must be at most/);
  assert.throws(
    () => loadConfig({ DATA_DIR: dataDir, PORTAL_NAME: "€".repeat(maxPortalNameLength / 2 + 1) }, quiet),
    /PORTAL_NAME/,
  );
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, PORTAL_NAME: "Praktijk Zoë" }, quiet), /PORTAL_NAME can use only.*ë/);
  assert.throws(() => loadConfig({ DATA_DIR: dataDir, PUBLIC_BASE_URL: `https://x${longestHost}` }, quiet), /PUBLIC_BASE_URL/);
});

test("every SMS text, in every language, fits one GSM-7 segment", () => {
  const catalogues = readCatalogues();
  let counted = 0;
  for (const locale of locales) {
    const words = translatorFor(i18n, locale);
    // Every text under phone:sms, plural forms included, each with the "@host #code" line.
    const keys = [
      ...new Set(Object.keys(catalogues[locale].phone!.sms as object).map((key) => key.replace(/_(one|other)$/, ""))),
    ];
    assert.ok(keys.length >= 2, "the code texts are there");
    for (const key of keys) {
      for (const minutes of [1, smsCodeLifetimeMinutes]) {
        const text = `${words(`phone:sms.${key}`, { portalName: longestName, code: "987654", count: minutes })}\n\n@${longestHost} #987654`;
        assert.deepEqual(nonGsm7Characters(text), [], `${locale} ${key}: only GSM-7 characters`);
        const septets = countGsm7Septets(text)!;
        assert.ok(septets <= septetsPerSegment, `${locale} ${key}: ${septets} septets: ${text}`);
        counted += 1;
      }
    }
    // And as the phone service builds them.
    for (const purpose of ["login", "enrol"] as const) {
      const body = buildCodeMessage({
        words,
        portalName: longestName,
        publicBaseUrl: `https://${longestHost}`,
        code: "987654",
        purpose,
        lifetimeMinutes: smsCodeLifetimeMinutes,
      });
      assert.ok(countGsm7Septets(body)! <= septetsPerSegment, `${locale} ${purpose}: ${body}`);
      assert.match(body, new RegExp(`\\n\\n@${longestHost.replace(/\./g, "\\.")} #987654$`));
    }
  }
  assert.ok(counted >= 8);
});

test("every security notice by SMS, in every language, fits one GSM-7 segment after the portal's name", () => {
  const catalogues = readCatalogues();
  for (const locale of locales) {
    const words = translatorFor(i18n, locale);
    const keys = Object.keys(catalogues[locale].phone!.notice as object);
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      // As the phone service sends it (sendSecurityNotice): "<portal name>: <notice>".
      const text = `${longestName}: ${words(`phone:notice.${key}`)}`;
      assert.deepEqual(nonGsm7Characters(text), [], `${locale} ${key}: only GSM-7 characters`);
      assert.ok(countGsm7Septets(text)! <= septetsPerSegment, `${locale} ${key}: ${countGsm7Septets(text)} septets`);
    }
  }
});

test("the code SMS is in the recipient's language", () => {
  const body = (locale: "en" | "nl") =>
    buildCodeMessage({
      words: translatorFor(i18n, locale),
      portalName: "Praktijk De Vaart",
      publicBaseUrl: "https://portaal.example.nl",
      code: "123456",
      purpose: "login",
      lifetimeMinutes: 5,
    });
  assert.equal(body("en"), "Your Praktijk De Vaart code is 123456. It expires in 5 minutes.\n\n@portaal.example.nl #123456");
  assert.equal(
    body("nl"),
    "Uw code voor Praktijk De Vaart is 123456. Deze verloopt over 5 minuten.\n\n@portaal.example.nl #123456",
  );
});

test("the call asks in Dutch with a Dutch voice, and asks once more when no key is pressed", () => {
  const twiml = buildConfirmationTwiml({
    words: translatorFor(i18n, "nl"),
    locale: "nl",
    portalName: "Praktijk De Vaart",
    gatherUrl: "https://portaal.example.nl/webhooks/twilio/gather/abc",
  });
  const gathers = [...twiml.matchAll(/<Gather [^>]*>(.*?)<\/Gather>/g)];
  assert.equal(gathers.length, 2, "asked, and asked again after a silence");
  for (const [, inner] of gathers) {
    assert.match(
      inner!,
      /^<Say language="nl-NL" voice="Polly\.Lotte">Goedendag, u wordt gebeld door Praktijk De Vaart\..*Toets 1.*Toets 9/,
    );
  }
  assert.match(
    twiml,
    /<\/Gather><Say language="nl-NL" voice="Polly\.Lotte">Er is geen toets ingedrukt\.[^<]*<\/Say><Hangup\/><\/Response>$/,
  );

  const english = buildConfirmationTwiml({
    words: translatorFor(i18n, "en"),
    locale: "en",
    portalName: "Portal",
    gatherUrl: "https://portal.example/g",
  });
  assert.equal([...english.matchAll(/<Say language="en-GB">Hello, this is Portal\./g)].length, 2);
});

test("every answer the call can end with is spoken in both languages", () => {
  for (const locale of locales) {
    const words = translatorFor(i18n, locale);
    for (const answer of ["approved", "denied", "wrong-key", "locked", "not-pending"]) {
      const spoken = words(`phone:call.answers.${answer}`);
      assert.doesNotMatch(spoken, /phone:|answers\./, `${locale} ${answer} has words`);
      assert.match(
        buildSpokenEndTwiml({ message: spoken, locale }),
        new RegExp(`language="${locale === "nl" ? "nl-NL" : "en-GB"}"`),
      );
    }
  }
});

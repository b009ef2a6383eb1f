import assert from "node:assert/strict";
import { test } from "node:test";
import { maskPhoneNumber, parsePhoneInput, phoneTail } from "../../src/services/phone-numbers.js";

const nl = { phoneDefaultRegion: "NL", phoneAllowedRegions: ["NL"] };

test("Dutch mobile numbers in the usual forms become E.164", () => {
  for (const input of [
    "06 12345678",
    "0612345678",
    "06-12345678",
    "+31 6 1234 5678",
    "+31612345678",
    "0031 6 12345678",
    " (06) 1234 5678 ",
  ]) {
    assert.deepEqual(parsePhoneInput(input, nl), { ok: true, e164: "+31612345678" }, input);
  }
});

test("invalid, foreign, premium-rate, shared-cost and landline numbers are refused with a clear message", () => {
  const cases: [string, RegExp][] = [
    ["", /Enter your mobile/],
    ["06-1234", /not a valid phone number/],
    ["hello", /not a valid phone number/],
    ["+44 7911 123456", /Only phone numbers from NL/],
    ["+1 415 555 2671", /Only phone numbers from NL/],
    ["0900 1234567", /Premium-rate/],
    ["0909 1234567", /Premium-rate/],
    ["020 123 4567", /not a mobile number/],
    ["085 123 4567", /not a mobile number/],
  ];
  for (const [input, message] of cases) {
    const result = parsePhoneInput(input, nl);
    assert.equal(result.ok, false, input);
    assert.match((result as { error: string }).error, message, input);
  }
});

test("more regions can be allowed", () => {
  assert.deepEqual(parsePhoneInput("+32 470 12 34 56", { phoneDefaultRegion: "NL", phoneAllowedRegions: ["NL", "BE"] }), {
    ok: true,
    e164: "+32470123456",
  });
});

test("numbers are masked to the last two digits", () => {
  assert.equal(maskPhoneNumber("+31612345678"), "+31 6 •••• ••78");
  assert.equal(phoneTail("+31612345678"), "••78");
  assert.doesNotMatch(maskPhoneNumber("+31612345678"), /123456/);
});

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

test("invalid, foreign, premium-rate, shared-cost and landline numbers are refused, each with its reason", () => {
  const cases: [string, string][] = [
    ["", "missing"],
    ["06-1234", "invalid"],
    ["hello", "invalid"],
    ["+44 7911 123456", "region"],
    ["+1 415 555 2671", "region"],
    ["0900 1234567", "premium"],
    ["0909 1234567", "premium"],
    ["020 123 4567", "not_mobile"],
    ["085 123 4567", "not_mobile"],
  ];
  for (const [input, problem] of cases) {
    assert.deepEqual(parsePhoneInput(input, nl), { ok: false, problem, allowedRegions: ["NL"] }, input);
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

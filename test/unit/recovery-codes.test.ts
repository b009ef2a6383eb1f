import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  generateRecoveryCodes,
  hashRecoveryCode,
  isRecoveryCodeShaped,
  normaliseRecoveryCode,
  recoveryCodeAlphabet,
  recoveryCodeEntropyBits,
} from "../../src/methods/recovery/recovery-code-values.js";

const pepper = randomBytes(32);
const codeFormat = new RegExp(`^[${recoveryCodeAlphabet}]{5}-[${recoveryCodeAlphabet}]{5}-[${recoveryCodeAlphabet}]{5}$`);

describe("recovery codes", () => {
  it("carry at least 64 bits each", () => {
    assert.ok(recoveryCodeEntropyBits >= 64, `${recoveryCodeEntropyBits} bits`);
  });

  it("come as 10 distinct codes in xxxxx-xxxxx-xxxxx form", () => {
    const codes = generateRecoveryCodes();
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const code of codes) assert.match(code, codeFormat);
    assert.equal(generateRecoveryCodes(3).length, 3);
  });

  it("avoid look-alike characters", () => {
    assert.ok(![..."01ilo"].some((char) => recoveryCodeAlphabet.includes(char)));
    assert.equal(new Set(recoveryCodeAlphabet).size, recoveryCodeAlphabet.length);
  });

  it("normalise case, spaces and dashes", () => {
    const expected = "7kq2mxw9adh3fne";
    for (const typed of [
      "7kq2m-xw9ad-h3fne",
      "7KQ2M-XW9AD-H3FNE",
      " 7kq2m xw9ad h3fne ",
      "7kq2mxw9adh3fne",
      "7kq2m-xw9adh3fne",
      "7Kq2m – xw9ad\th3FNE",
      "7kq2m\u2212xw9ad\u2010h3fne",
      "７ｋｑ２ｍ-xw9ad-h3fne",
    ]) {
      assert.equal(normaliseRecoveryCode(typed), expected, JSON.stringify(typed));
    }
    assert.ok(isRecoveryCodeShaped("7KQ2M XW9AD H3FNE"));
    assert.ok(!isRecoveryCodeShaped("123456"));
    assert.ok(!isRecoveryCodeShaped("7kq2m-xw9ad-h3fn0"));
  });

  it("hash to stable hex, independent of how the code was typed", () => {
    const [code] = generateRecoveryCodes(1);
    const hash = hashRecoveryCode(code!, pepper);
    assert.match(hash, /^[0-9a-f]{64}$/);
    assert.equal(hashRecoveryCode(code!, pepper), hash);
    assert.equal(hashRecoveryCode(code!.toUpperCase().replaceAll("-", " "), pepper), hash);
    assert.notEqual(hashRecoveryCode(code!, pepper), normaliseRecoveryCode(code!));
  });

  it("hash with the server key: another key or another code gives another hash", () => {
    const [first, second] = generateRecoveryCodes(2);
    assert.notEqual(hashRecoveryCode(first!, randomBytes(32)), hashRecoveryCode(first!, pepper));
    assert.notEqual(hashRecoveryCode(second!, pepper), hashRecoveryCode(first!, pepper));
  });

  it("refuse a short key", () => {
    assert.throws(() => hashRecoveryCode("7kq2m-xw9ad-h3fne", Buffer.alloc(8)), RangeError);
  });
});

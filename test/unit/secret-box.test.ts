import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { decryptSecret, encryptSecret, readSecretKeyId, SecretBoxError } from "../../src/services/secret-box.js";

const key1 = { id: "k1", key: randomBytes(32) };
const key2 = { id: "k2", key: randomBytes(32) };
const plaintext = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const purpose = "totp:user:42";

function isBoxError(reason: SecretBoxError["reason"]) {
  return (error: unknown) => error instanceof SecretBoxError && error.reason === reason;
}

/** Flips one bit in one base64url part (2 = iv, 3 = tag, 4 = ciphertext) and reassembles the box. */
function tamper(boxed: string, partIndex: number): string {
  const parts = boxed.split(":");
  const bytes = Buffer.from(parts[partIndex]!, "base64url");
  bytes[0]! ^= 0x01;
  parts[partIndex] = bytes.toString("base64url");
  return parts.join(":");
}

describe("secret box", () => {
  it("round-trips strings and buffers, with and without a purpose", () => {
    assert.equal(decryptSecret(encryptSecret(plaintext, key1, purpose), key1, purpose).toString("utf8"), plaintext);
    const binary = randomBytes(20);
    assert.deepEqual(decryptSecret(encryptSecret(binary, key1), [key1]), binary);
    assert.equal(decryptSecret(encryptSecret("", key1), key1).length, 0);
  });

  it("writes a self-describing v1 string naming the key", () => {
    const boxed = encryptSecret(plaintext, key1, purpose);
    assert.match(boxed, /^v1:k1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    assert.equal(readSecretKeyId(boxed), "k1");
    assert.ok(!boxed.includes(plaintext));
  });

  it("produces a different box each time for the same plaintext", () => {
    assert.notEqual(encryptSecret(plaintext, key1, purpose), encryptSecret(plaintext, key1, purpose));
  });

  it("opens boxes under any configured key (rotation)", () => {
    const old = encryptSecret(plaintext, key1, purpose);
    const fresh = encryptSecret(plaintext, key2, purpose);
    assert.equal(decryptSecret(old, [key2, key1], purpose).toString(), plaintext);
    assert.equal(decryptSecret(fresh, [key2, key1], purpose).toString(), plaintext);
  });

  for (const [name, index] of [
    ["iv", 2],
    ["tag", 3],
    ["ciphertext", 4],
  ] as const) {
    it(`fails closed when one bit of the ${name} changes`, () => {
      const boxed = encryptSecret(plaintext, key1, purpose);
      assert.throws(() => decryptSecret(tamper(boxed, index), key1, purpose), isBoxError("authentication-failed"));
    });
  }

  it("refuses an unknown key id", () => {
    const boxed = encryptSecret(plaintext, key1, purpose);
    assert.throws(() => decryptSecret(boxed, [key2], purpose), isBoxError("unknown-key"));
  });

  it("refuses a box whose key id was edited, and the right id with the wrong key material", () => {
    const boxed = encryptSecret(plaintext, key1, purpose);
    assert.throws(() => decryptSecret(boxed.replace("v1:k1:", "v1:k2:"), [key1, key2], purpose), SecretBoxError);
    const impostor = { id: "k1", key: randomBytes(32) };
    assert.throws(() => decryptSecret(boxed, impostor, purpose), isBoxError("authentication-failed"));
  });

  it("refuses a box moved to another purpose or user", () => {
    const boxed = encryptSecret(plaintext, key1, purpose);
    assert.throws(() => decryptSecret(boxed, key1, "totp:user:43"), isBoxError("authentication-failed"));
    assert.throws(() => decryptSecret(boxed, key1), isBoxError("authentication-failed"));
    const unbound = encryptSecret(plaintext, key1);
    assert.throws(() => decryptSecret(unbound, key1, purpose), isBoxError("authentication-failed"));
  });

  it("refuses malformed input", () => {
    const boxed = encryptSecret(plaintext, key1, purpose);
    const [, , iv, tag, ciphertext] = boxed.split(":");
    const malformed = [
      "",
      "v1",
      "v1:k1",
      `v2:k1:${iv}:${tag}:${ciphertext}`,
      `v1::${iv}:${tag}:${ciphertext}`,
      `v1:k1:${iv}:${tag}`,
      `${boxed}:extra`,
      `v1:k1:${iv}A:${tag}:${ciphertext}`,
      `v1:k1:${iv}:${tag!.slice(0, 20)}:${ciphertext}`,
      `v1:k1:${iv}:${tag}:${ciphertext}!`,
      `v1:k1:${iv}:${tag}:${ciphertext}=`,
      `v1:k1:${iv}:${tag}:${ciphertext} `,
    ];
    for (const input of malformed) {
      assert.throws(() => decryptSecret(input, key1, purpose), isBoxError("malformed"), JSON.stringify(input));
    }
  });

  it("refuses keys that are not 32 bytes or have unusable ids", () => {
    assert.throws(() => encryptSecret(plaintext, { id: "short", key: randomBytes(16) }), isBoxError("invalid-key"));
    assert.throws(() => encryptSecret(plaintext, { id: "a:b", key: randomBytes(32) }), isBoxError("invalid-key"));
    const boxed = encryptSecret(plaintext, key1);
    assert.throws(() => decryptSecret(boxed, { id: "k1", key: randomBytes(31) }), isBoxError("invalid-key"));
  });
});

import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Encrypts small secrets (such as TOTP seeds) for storage with AES-256-GCM.
 *
 * Boxed format: `v1:<keyId>:<iv>:<tag>:<ciphertext>`, each binary part base64url without padding.
 * The key id travels with the ciphertext so keys can be rotated: old rows still name the key
 * that opened them. The version, the key id and the caller's purpose are authenticated (AAD),
 * so editing the key id or moving a ciphertext to another user or purpose fails to decrypt.
 */

export interface SecretBoxKey {
  readonly id: string;
  readonly key: Buffer;
}

export type SecretBoxFailure = "malformed" | "unknown-key" | "invalid-key" | "authentication-failed";

/** Every failure to open a box; callers must treat it as "no secret" (fail closed). */
export class SecretBoxError extends Error {
  override readonly name = "SecretBoxError";

  constructor(
    readonly reason: SecretBoxFailure,
    message: string,
  ) {
    super(message);
  }
}

const formatVersion = "v1";
const algorithm = "aes-256-gcm";
const keyBytes = 32;
// 96-bit IVs are what GCM is designed for; random IVs stay safe far beyond the number of
// secrets this portal will ever encrypt under one key (the limit is about 2^32 messages).
const ivBytes = 12;
// Full-length tags only: shorter tags weaken authentication and Node would otherwise accept them.
const tagBytes = 16;
// The key id sits inside the colon-separated format and the AAD, so it must not contain ':' or NUL.
const keyIdPattern = /^[A-Za-z0-9._-]{1,64}$/;
const base64urlPattern = /^[A-Za-z0-9_-]*$/;

export function encryptSecret(plaintext: Buffer | string, key: SecretBoxKey, aad?: string): string {
  checkKey(key);
  const iv = randomBytes(ivBytes);
  const cipher = createCipheriv(algorithm, key.key, iv, { authTagLength: tagBytes });
  cipher.setAAD(buildAad(key.id, aad));
  const data = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const tag = cipher.getAuthTag();
  return [formatVersion, key.id, ...[iv, tag, ciphertext].map((part) => part.toString("base64url"))].join(":");
}

/** Opens a box made by `encryptSecret`; `aad` must be the same purpose string used to encrypt. */
export function decryptSecret(boxed: string, keys: readonly SecretBoxKey[] | SecretBoxKey, aad?: string): Buffer {
  const box = parseBox(boxed);
  const key = findKey(keys, box.keyId);
  try {
    const decipher = createDecipheriv(algorithm, key.key, box.iv, { authTagLength: tagBytes });
    decipher.setAAD(buildAad(box.keyId, aad));
    decipher.setAuthTag(box.tag);
    return Buffer.concat([decipher.update(box.ciphertext), decipher.final()]);
  } catch {
    // GCM checks the tag in final(): any change to iv, tag, ciphertext, key id or purpose lands here.
    throw new SecretBoxError("authentication-failed", "The secret could not be decrypted.");
  }
}

/** The key id a box was sealed with, e.g. to find rows still encrypted under a retired key. */
export function readSecretKeyId(boxed: string): string {
  return parseBox(boxed).keyId;
}

interface ParsedBox {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

function parseBox(boxed: string): ParsedBox {
  const parts = typeof boxed === "string" ? boxed.split(":") : [];
  const [version, keyId, iv, tag, ciphertext] = parts;
  if (parts.length !== 5 || version !== formatVersion || keyId === undefined || !keyIdPattern.test(keyId)) {
    throw new SecretBoxError("malformed", "The stored secret is not in a recognised format.");
  }
  const box = { keyId, iv: decodePart(iv), tag: decodePart(tag), ciphertext: decodePart(ciphertext) };
  if (box.iv.length !== ivBytes || box.tag.length !== tagBytes) {
    throw new SecretBoxError("malformed", "The stored secret is not in a recognised format.");
  }
  return box;
}

// Buffer.from(…, "base64url") silently skips invalid characters; only canonical text is accepted.
function decodePart(part: string | undefined): Buffer {
  const bytes = part !== undefined && base64urlPattern.test(part) ? Buffer.from(part, "base64url") : undefined;
  if (bytes === undefined || bytes.toString("base64url") !== part) {
    throw new SecretBoxError("malformed", "The stored secret is not in a recognised format.");
  }
  return bytes;
}

function findKey(keys: readonly SecretBoxKey[] | SecretBoxKey, keyId: string): SecretBoxKey {
  const candidates = Array.isArray(keys) ? keys : [keys as SecretBoxKey];
  const key = candidates.find((candidate) => candidate.id === keyId);
  if (!key) throw new SecretBoxError("unknown-key", `No encryption key with id "${keyId}" is configured.`);
  checkKey(key);
  return key;
}

function checkKey(key: SecretBoxKey): void {
  if (!keyIdPattern.test(key.id)) {
    throw new SecretBoxError("invalid-key", "Encryption key ids may only use letters, digits, '.', '_' and '-' (1-64).");
  }
  if (!Buffer.isBuffer(key.key) || key.key.length !== keyBytes) {
    throw new SecretBoxError("invalid-key", `Encryption key "${key.id}" must be exactly ${keyBytes} bytes.`);
  }
}

// NUL separators keep the fields unambiguous: neither the version nor the key id can contain one,
// and the purpose is last. A missing purpose and an empty purpose are the same binding.
function buildAad(keyId: string, purpose: string | undefined): Buffer {
  return Buffer.from(`secret-box\u0000${formatVersion}\u0000${keyId}\u0000${purpose ?? ""}`, "utf8");
}

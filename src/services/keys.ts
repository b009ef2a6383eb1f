import { hkdfSync } from "node:crypto";
import type { Config } from "../config.js";

/**
 * A key for one purpose (hashing recovery codes, hashing SMS codes…), derived from
 * APP_ENCRYPTION_KEY with HKDF so that no two uses share a key.
 */
export function deriveKey(config: Pick<Config, "encryptionKey">, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", config.encryptionKey.key, Buffer.alloc(0), `portal:${purpose}`, 32));
}

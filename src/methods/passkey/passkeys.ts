import { createHmac } from "node:crypto";
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { z } from "zod";
import type { Config } from "../../config.js";
import type { Database, Queryable, Row } from "../../db/database.js";
import type { AuditLog, RequestContext } from "../../services/audit.js";
import type { Clock } from "../../services/clock.js";
import { deriveKey } from "../../services/keys.js";

// Passkeys (WebAuthn) as a second factor: registering one, checking an assertion at login, and
// the list the user manages. The challenge of each ceremony is kept by the caller (the web layer
// keeps it in the session, for challengeLifetimeMs, and uses it once).

/** How long a registration or login prompt may take; the caller keeps its challenge as long. */
export const challengeLifetimeMs = 5 * 60_000;

/** Enough for every device a person uses, and a bound on the rows one account can add. */
export const maxPasskeysPerUser = 10;

export const passkeyNameMaxLength = 60;

// ES256 (every platform authenticator and security key) and RS256 (Windows Hello on older devices).
const supportedAlgorithmIds = [-7, -257];

const knownTransports = new Set<string>(["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"]);

/**
 * Whether the user in the row `u` has a passkey: a boolean SQL expression for queries that read
 * the user's factors together with the user.
 */
export const hasPasskeySql = "EXISTS (SELECT 1 FROM passkey_credentials c WHERE c.user_id = u.id)";

/**
 * The passkeys of the user in the row `u`, oldest first, as a JSON array of {id, name, created_at,
 * last_used_at}; NULL when none.
 */
export const passkeySummarySql = `(SELECT json_agg(json_build_object('id', c.id, 'name', c.name, 'created_at', c.created_at,
    'last_used_at', c.last_used_at) ORDER BY c.created_at, c.id)
  FROM passkey_credentials c WHERE c.user_id = u.id)`;

const base64url = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/);

// The browser's answers, as @simplewebauthn/browser sends them: checked for shape and size here,
// for meaning by the service.
const credentialFields = {
  id: base64url(1364),
  rawId: base64url(1364),
  type: z.literal("public-key"),
  authenticatorAttachment: z.enum(["platform", "cross-platform"]).optional(),
  clientExtensionResults: z.looseObject({}),
};

export const registrationResponseSchema = z.object({
  ...credentialFields,
  response: z.looseObject({
    clientDataJSON: base64url(4096),
    attestationObject: base64url(8192),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
});

export const authenticationResponseSchema = z.object({
  ...credentialFields,
  response: z.looseObject({
    clientDataJSON: base64url(4096),
    authenticatorData: base64url(4096),
    signature: base64url(1024),
    userHandle: base64url(1024).nullish(),
  }),
});

export interface Passkey {
  id: number;
  name: string;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** What the browser needs to start a ceremony, and the challenge the caller must keep to finish it. */
export interface StartedRegistration {
  options: PublicKeyCredentialCreationOptionsJSON;
  challenge: string;
}

export type StartedAuthentication =
  | { status: "started"; options: PublicKeyCredentialRequestOptionsJSON; challenge: string }
  /** The user has no passkey: there is nothing to ask the browser for. */
  | { status: "no_passkeys" };

export type RegistrationResult =
  | { status: "registered"; passkey: Passkey }
  /** Empty, longer than passkeyNameMaxLength, or with a control character. */
  | { status: "invalid_name" }
  /** The response did not verify: wrong challenge, origin or RP, no user verification, bad attestation. */
  | { status: "refused" }
  /** This credential is registered already (to this user or another). */
  | { status: "duplicate" }
  /** The user has maxPasskeysPerUser passkeys. */
  | { status: "limit_reached" };

export type AuthenticationCheck = "right" | "wrong";

export type PasskeyRemoval = { status: "removed"; name: string } | { status: "not_found" };

function mapPasskey(row: Row): Passkey {
  return {
    id: Number(row.id),
    name: row.name as string,
    createdAt: row.created_at as Date,
    lastUsedAt: (row.last_used_at as Date | null) ?? null,
  };
}

const controlCharacter = /\p{Cc}/u;

/** The name as stored (trimmed), or null when it cannot be one. */
// Invisible formatting characters (bidi overrides, zero-width joiners…) would let a name show as
// something else on the security page, where it names the passkey a Remove button removes.
const invisibleFormat = /\p{Cf}/u;

export function normalisePasskeyName(name: string): string | null {
  const trimmed = name.trim();
  const length = [...trimmed].length;
  if (length < 1 || length > passkeyNameMaxLength || controlCharacter.test(trimmed) || invisibleFormat.test(trimmed)) return null;
  return trimmed;
}

/** The transports the browser named that are known ones, each once (they come from the browser). */
function transportsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((item): item is string => typeof item === "string" && knownTransports.has(item)))];
}

export type Passkeys = ReturnType<typeof createPasskeys>;

export function createPasskeys({
  db,
  clock,
  config,
  audit,
}: {
  db: Database;
  clock: Clock;
  config: Pick<Config, "publicBaseUrl" | "portalName" | "encryptionKey">;
  audit: AuditLog;
}) {
  const publicUrl = new URL(config.publicBaseUrl);
  // Passkeys are bound to the host name users see, and each ceremony to the page's exact origin.
  const rpId = publicUrl.hostname;
  const expectedOrigin = publicUrl.origin;
  const userHandleKey = deriveKey(config, "passkey-user-handle");

  /**
   * The WebAuthn user handle: the same for every passkey of one user (so an authenticator keeps
   * one entry per account), and neither the email nor the database id.
   */
  function userHandleOf(userId: number): Uint8Array<ArrayBuffer> {
    return new Uint8Array(createHmac("sha256", userHandleKey).update(String(userId)).digest());
  }

  async function listCredentials(userId: number, tx: Queryable = db) {
    const { rows } = await tx.query(
      "SELECT credential_id, transports FROM passkey_credentials WHERE user_id = $1 ORDER BY created_at, id",
      [userId],
    );
    return rows.map((row) => ({ id: row.credential_id as string, transports: transportsOf(row.transports) }));
  }

  /** Options for the browser's registration prompt; the user's own passkeys are excluded. */
  async function startRegistration(user: { id: number; email: string; name: string }): Promise<StartedRegistration> {
    const options = await generateRegistrationOptions({
      rpName: config.portalName,
      rpID: rpId,
      userName: user.email,
      userDisplayName: user.name,
      userID: userHandleOf(user.id),
      timeout: challengeLifetimeMs,
      attestationType: "none",
      excludeCredentials: await listCredentials(user.id),
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
      supportedAlgorithmIDs: supportedAlgorithmIds,
    });
    return { options, challenge: options.challenge };
  }

  /**
   * Verifies the browser's registration response against the challenge the caller kept, and
   * stores the passkey with its audit event in one transaction.
   */
  async function finishRegistration(
    input: { userId: number; response: RegistrationResponseJSON; expectedChallenge: string; name: string },
    context: RequestContext,
  ): Promise<RegistrationResult> {
    const name = normalisePasskeyName(input.name);
    if (name === null) return { status: "invalid_name" };
    let verification: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verification = await verifyRegistrationResponse({
        response: input.response,
        expectedChallenge: input.expectedChallenge,
        expectedOrigin,
        expectedRPID: rpId,
        requireUserPresence: true,
        requireUserVerification: true,
        supportedAlgorithmIDs: supportedAlgorithmIds,
      });
    } catch {
      // The library throws for every malformed or mismatched response: all of them are a refusal.
      return { status: "refused" };
    }
    if (!verification.verified) return { status: "refused" };
    const { credential } = verification.registrationInfo;
    const now = clock.now();
    return db.transaction(async (tx): Promise<RegistrationResult> => {
      // The user's row first, as everywhere: two registrations at once cannot pass the limit together.
      await tx.query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", [input.userId]);
      const { rows: counted } = await tx.query("SELECT count(*)::int AS n FROM passkey_credentials WHERE user_id = $1", [
        input.userId,
      ]);
      if (Number(counted[0]?.n ?? 0) >= maxPasskeysPerUser) return { status: "limit_reached" };
      const { rows } = await tx.query(
        `INSERT INTO passkey_credentials (user_id, credential_id, public_key, counter, transports, name, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)
         ON CONFLICT (credential_id) DO NOTHING
         RETURNING id, name, created_at, last_used_at`,
        [
          input.userId,
          credential.id,
          Buffer.from(credential.publicKey),
          credential.counter,
          transportsOf(credential.transports ?? input.response.response?.transports),
          name,
          now,
        ],
      );
      if (!rows[0]) return { status: "duplicate" };
      await audit.recordEvent(
        {
          type: "2fa.enrolment_completed",
          actorUserId: input.userId,
          subjectUserId: input.userId,
          details: { method: "passkey", name },
        },
        context,
        tx,
      );
      return { status: "registered", passkey: mapPasskey(rows[0]) };
    });
  }

  /** Options for the browser's login prompt, allowing only this user's passkeys. */
  async function startAuthentication(userId: number): Promise<StartedAuthentication> {
    const allowCredentials = await listCredentials(userId);
    if (allowCredentials.length === 0) return { status: "no_passkeys" };
    const options = await generateAuthenticationOptions({
      rpID: rpId,
      allowCredentials,
      userVerification: "required",
      timeout: challengeLifetimeMs,
    });
    return { status: "started", options, challenge: options.challenge };
  }

  /**
   * Checks an assertion from one of this user's passkeys against the challenge the caller kept.
   * A passkey whose authenticator keeps a signature counter must show a higher one each time: the
   * stored counter moves forward in one conditional UPDATE, so a replay, a cloned authenticator
   * or two uses of one assertion at once pass at most once.
   */
  async function verifyAuthentication(input: {
    userId: number;
    response: AuthenticationResponseJSON;
    expectedChallenge: string;
  }): Promise<AuthenticationCheck> {
    const credentialId = input.response?.id;
    if (typeof credentialId !== "string") return "wrong";
    const { rows } = await db.query(
      "SELECT id, credential_id, public_key, counter, transports FROM passkey_credentials WHERE credential_id = $1 AND user_id = $2",
      [credentialId, input.userId],
    );
    const stored = rows[0];
    if (!stored) return "wrong";
    const storedCounter = Number(stored.counter);
    let newCounter: number;
    try {
      const verification = await verifyAuthenticationResponse({
        response: input.response,
        expectedChallenge: input.expectedChallenge,
        expectedOrigin,
        expectedRPID: rpId,
        requireUserVerification: true,
        credential: {
          id: stored.credential_id as string,
          publicKey: new Uint8Array(stored.public_key as Buffer),
          counter: storedCounter,
          transports: transportsOf(stored.transports),
        },
      });
      if (!verification.verified) return "wrong";
      newCounter = verification.authenticationInfo.newCounter;
    } catch {
      // A bad signature, another origin, no user verification, a counter that did not grow.
      return "wrong";
    }
    // An authenticator without a counter reports 0 every time; one with a counter must go up.
    const { rowCount } = await db.query(
      `UPDATE passkey_credentials SET counter = $3, last_used_at = $4
       WHERE id = $1 AND user_id = $2 AND (counter < $3 OR (counter = 0 AND $3 = 0))`,
      [stored.id, input.userId, newCounter, clock.now()],
    );
    return rowCount === 1 ? "right" : "wrong";
  }

  async function listPasskeys(userId: number): Promise<Passkey[]> {
    const { rows } = await db.query(
      "SELECT id, name, created_at, last_used_at FROM passkey_credentials WHERE user_id = $1 ORDER BY created_at, id",
      [userId],
    );
    return rows.map(mapPasskey);
  }

  async function hasPasskeys(userId: number): Promise<boolean> {
    const { rows } = await db.query(`SELECT ${hasPasskeySql} AS has FROM users u WHERE u.id = $1`, [userId]);
    return rows[0]?.has === true;
  }

  /** Removes one passkey of this user (the caller audits it in the same transaction). */
  async function removePasskey(userId: number, passkeyId: number, tx: Queryable = db): Promise<PasskeyRemoval> {
    const { rows } = await tx.query("DELETE FROM passkey_credentials WHERE id = $1 AND user_id = $2 RETURNING name", [
      passkeyId,
      userId,
    ]);
    return rows[0] ? { status: "removed", name: rows[0].name as string } : { status: "not_found" };
  }

  /** Removes every passkey of the user (removal of the method, an admin reset); returns how many. */
  async function removeAllPasskeys(userId: number, tx: Queryable = db): Promise<number> {
    const { rowCount } = await tx.query("DELETE FROM passkey_credentials WHERE user_id = $1", [userId]);
    return rowCount;
  }

  return {
    startRegistration,
    finishRegistration,
    startAuthentication,
    verifyAuthentication,
    listPasskeys,
    hasPasskeys,
    removePasskey,
    removeAllPasskeys,
  };
}

import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { isoCBOR } from "@simplewebauthn/server/helpers";

// A passkey authenticator in software, as a phone or laptop would be one: an EC P-256 key per
// credential, attestation "none", a signature counter, and user presence and verification. Tests
// can make it misbehave the ways a real attacker's would: a wrong signature, a counter that does
// not grow (a cloned authenticator), another site's origin.

export interface SoftwareCredential {
  /** base64url, as the browser names it. */
  id: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The signature counter of this credential: the last value it reported. */
  counter: number;
  userHandle: string;
}

/** What a test may change in one ceremony. */
export interface Tampering {
  /** The page's origin as the browser reports it, instead of the authenticator's own. */
  origin?: string;
  /** For a login: the counter to report instead of the next one. */
  counter?: number;
  /** For a login: sign something else, as a forger without the private key would have to. */
  wrongSignature?: boolean;
  /** Answer without user verification (no PIN, fingerprint or face). */
  withoutUserVerification?: boolean;
  /** For a login: the credential to use (by default the first one the options allow). */
  credentialId?: string;
  /** For a registration: register this existing credential again instead of a new one. */
  reuseCredential?: SoftwareCredential;
}

const flags = { userPresent: 0x01, userVerified: 0x04, attestedCredentialData: 0x40 };

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest();
const base64url = (data: Uint8Array) => Buffer.from(data).toString("base64url");

function counterBytes(counter: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(counter);
  return bytes;
}

/** The credential's public key as a COSE_Key (RFC 9053): EC2, P-256, ES256. */
function coseKeyOf(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  return isoCBOR.encode(
    new Map<number, number | Uint8Array>([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, new Uint8Array(Buffer.from(jwk.x!, "base64url"))],
      [-3, new Uint8Array(Buffer.from(jwk.y!, "base64url"))],
    ]),
  );
}

function clientDataOf(type: "webauthn.create" | "webauthn.get", challenge: string, origin: string): Buffer {
  return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
}

export type SoftwareAuthenticator = ReturnType<typeof createSoftwareAuthenticator>;

/**
 * An authenticator at `origin` (the page the browser shows). `usesCounter: false` makes it report
 * 0 every time, as many synced passkeys do.
 */
export function createSoftwareAuthenticator({ origin, usesCounter = true }: { origin: string; usesCounter?: boolean }) {
  const credentials: SoftwareCredential[] = [];
  const userVerificationFlags = (tamper: Tampering) =>
    flags.userPresent | (tamper.withoutUserVerification ? 0 : flags.userVerified);

  /** Answers a registration prompt: a new credential, unless the test reuses one. */
  function register(options: PublicKeyCredentialCreationOptionsJSON, tamper: Tampering = {}): RegistrationResponseJSON {
    let credential = tamper.reuseCredential;
    if (!credential) {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      credential = { id: base64url(randomBytes(32)), privateKey, publicKey, counter: 0, userHandle: options.user.id };
      credentials.push(credential);
    }
    const rpId = options.rp.id ?? new URL(origin).hostname;
    const credentialId = Buffer.from(credential.id, "base64url");
    const credentialIdLength = Buffer.alloc(2);
    credentialIdLength.writeUInt16BE(credentialId.length);
    const authenticatorData = Buffer.concat([
      sha256(rpId),
      Buffer.from([userVerificationFlags(tamper) | flags.attestedCredentialData]),
      counterBytes(credential.counter),
      Buffer.alloc(16), // AAGUID: none, as with attestation "none"
      credentialIdLength,
      credentialId,
      coseKeyOf(credential.publicKey),
    ]);
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ["fmt", "none"],
        ["attStmt", new Map<string, string>()],
        ["authData", new Uint8Array(authenticatorData)],
      ]),
    );
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: base64url(clientDataOf("webauthn.create", options.challenge, tamper.origin ?? origin)),
        attestationObject: base64url(attestationObject),
        transports: ["internal"],
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  /** Answers a login prompt with a credential it allows, its counter one higher than before. */
  function authenticate(options: PublicKeyCredentialRequestOptionsJSON, tamper: Tampering = {}): AuthenticationResponseJSON {
    const allowed = (options.allowCredentials ?? []).map((allowedCredential) => allowedCredential.id);
    const credential = credentials.find((candidate) =>
      tamper.credentialId ? candidate.id === tamper.credentialId : allowed.includes(candidate.id),
    );
    if (!credential) throw new Error("this authenticator holds none of the credentials asked for");
    if (tamper.counter !== undefined) credential.counter = tamper.counter;
    else if (usesCounter) credential.counter += 1;
    const rpId = options.rpId ?? new URL(origin).hostname;
    const authenticatorData = Buffer.concat([
      sha256(rpId),
      Buffer.from([userVerificationFlags(tamper)]),
      counterBytes(credential.counter),
    ]);
    const clientDataJSON = clientDataOf("webauthn.get", options.challenge, tamper.origin ?? origin);
    const signed = Buffer.concat([authenticatorData, sha256(clientDataJSON)]);
    // ES256 signatures in WebAuthn are DER-encoded ECDSA, node's default.
    const signature = sign(
      "sha256",
      tamper.wrongSignature ? Buffer.concat([signed, Buffer.from([0])]) : signed,
      credential.privateKey,
    );
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: base64url(clientDataJSON),
        authenticatorData: base64url(authenticatorData),
        signature: base64url(signature),
        userHandle: credential.userHandle,
      },
      authenticatorAttachment: "platform",
      clientExtensionResults: {},
    };
  }

  return { credentials, register, authenticate };
}

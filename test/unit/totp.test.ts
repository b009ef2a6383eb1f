import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  buildOtpauthUri,
  findTotpStep,
  formatSecretForDisplay,
  generateTotpCode,
  generateTotpSecret,
  qrCodeSizePixels,
  renderQrCode,
  timeStepAt,
} from "../../src/methods/app/totp-codes.js";

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const rfcVectors: [unixSeconds: number, eightDigitCode: string][] = [
  [59, "94287082"],
  [1111111109, "07081804"],
  [1111111111, "14050471"],
  [1234567890, "89005924"],
  [2000000000, "69279037"],
  [20000000000, "65353130"],
];

const atSeconds = (seconds: number) => new Date(seconds * 1000);
const stepStart = (step: number) => atSeconds(step * 30);

describe("TOTP secret", () => {
  it("is 160 bits of base32 (32 characters) and different every time", () => {
    const first = generateTotpSecret();
    assert.match(first, /^[A-Z2-7]{32}$/);
    assert.equal(Buffer.from(first).length * 5, 160);
    assert.notEqual(generateTotpSecret(), first);
  });

  it("is displayed in groups of four", () => {
    assert.equal(formatSecretForDisplay(rfcSecret), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
  });
});

describe("findTotpStep with the RFC 6238 SHA-1 test vectors", () => {
  for (const [seconds, eightDigits] of rfcVectors) {
    const code = eightDigits.slice(-6);
    it(`accepts ${code} at T=${seconds} and returns step ${Math.floor(seconds / 30)}`, async () => {
      assert.equal(await findTotpStep(rfcSecret, code, atSeconds(seconds)), Math.floor(seconds / 30));
      assert.equal(await generateTotpCode(rfcSecret, atSeconds(seconds)), code);
    });
  }

  it("computes the time step as floor(unix seconds / 30)", () => {
    assert.equal(timeStepAt(atSeconds(59)), 1);
    assert.equal(timeStepAt(atSeconds(60)), 2);
    assert.equal(timeStepAt(new Date(1111111109_999)), 37037036);
  });
});

describe("findTotpStep window", () => {
  const secret = rfcSecret;
  const now = atSeconds(1234567890);
  const step = timeStepAt(now);
  const codeAt = (offset: number) => generateTotpCode(secret, stepStart(step + offset));

  it("accepts the current, previous and next step and reports which one matched", async () => {
    for (const offset of [-1, 0, 1]) {
      assert.equal(await findTotpStep(secret, await codeAt(offset), now), step + offset);
    }
  });

  it("accepts neighbours at both edges of the current step", async () => {
    const firstSecond = stepStart(step);
    const lastSecond = new Date(stepStart(step + 1).getTime() - 1);
    assert.equal(await findTotpStep(secret, await codeAt(-1), firstSecond), step - 1);
    assert.equal(await findTotpStep(secret, await codeAt(1), lastSecond), step + 1);
  });

  it("refuses codes two steps away in either direction", async () => {
    const window = await Promise.all([-1, 0, 1].map(codeAt));
    for (const offset of [-2, 2]) {
      const code = await codeAt(offset);
      assert.ok(!window.includes(code), "test premise: the far code differs from the window's codes");
      assert.equal(await findTotpStep(secret, code, now), null);
    }
  });

  it("refuses a wrong code", async () => {
    const window = await Promise.all([-1, 0, 1].map(codeAt));
    const wrong = String((Number(window[1]) + 1) % 1_000_000).padStart(6, "0");
    assert.ok(!window.includes(wrong));
    assert.equal(await findTotpStep(secret, wrong, now), null);
  });

  it("refuses input that is not exactly six ASCII digits", async () => {
    const code = await codeAt(0);
    for (const input of [
      code.slice(1),
      `${code}0`,
      `0${code}`,
      "12a456",
      "abcdef",
      "",
      ` ${code}`,
      `${code} `,
      "١٢٣٤٥٦",
      "12 345",
    ]) {
      assert.equal(await findTotpStep(secret, input, now), null, JSON.stringify(input));
    }
  });
});

describe("otpauth URI and QR code", () => {
  const secret = generateTotpSecret();

  it("round-trips through URL with issuer, secret and parameters", () => {
    const uri = buildOtpauthUri({ secret, issuer: "Acme Health & Care", accountName: "jo+test@example.com" });
    const url = new URL(uri);
    assert.equal(url.protocol, "otpauth:");
    assert.equal(url.host, "totp");
    assert.equal(decodeURIComponent(url.pathname), "/Acme Health & Care:jo+test@example.com");
    assert.equal(url.searchParams.get("secret"), secret);
    assert.equal(url.searchParams.get("issuer"), "Acme Health & Care");
    assert.equal(url.searchParams.get("algorithm"), "SHA1");
    assert.equal(url.searchParams.get("digits"), "6");
    assert.equal(url.searchParams.get("period"), "30");
    assert.ok(!uri.includes(" ") && !uri.includes("+"), "spaces and plus signs are percent-encoded");
  });

  it("refuses a colon in the issuer or account name", () => {
    assert.throws(() => buildOtpauthUri({ secret, issuer: "Acme:Evil", accountName: "jo@example.com" }), RangeError);
    assert.throws(() => buildOtpauthUri({ secret, issuer: "Acme", accountName: "a:b" }), RangeError);
  });

  it("renders a PNG data URL of the documented size", async () => {
    const { dataUrl, size } = await renderQrCode(buildOtpauthUri({ secret, issuer: "Acme", accountName: "jo@example.com" }));
    assert.equal(size, qrCodeSizePixels);
    assert.match(dataUrl, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);
    const png = Buffer.from(dataUrl.slice(dataUrl.indexOf(",") + 1), "base64");
    assert.equal(png.readUInt32BE(16), size, "PNG width");
    assert.equal(png.readUInt32BE(20), size, "PNG height");
  });
});

import type { Request, Response } from "express";
import type { Config } from "../../config.js";
import { decryptSecret, encryptSecret } from "../../services/secret-box.js";
import type { User } from "../../services/users.js";
import { phrase, wordsOf } from "../../web/i18n-helpers.js";
import { renderPage } from "../../web/render.js";

// A new set of recovery codes is shown by a GET (post/redirect/get) until the user says they saved it.

/** The page that shows them. */
export const newRecoveryCodesPath = "/account/recovery-codes/new";

/** Whether this session holds new codes that the user has not yet said they saved. */
export function hasUnsavedRecoveryCodes(req: Request): boolean {
  return req.session.newRecoveryCodes !== undefined;
}

export function renderNewRecoveryCodes(res: Response, user: User, codes: string[], portalName: string, status = 200) {
  const t = wordsOf(res.req);
  const text = [
    t("methods:recovery.newCodes.fileHeading", { portalName, email: user.email }),
    t("methods:recovery.newCodes.fileNote"),
    "",
    ...codes,
    "",
  ].join("\n");
  renderPage(
    res,
    "methods/recovery/codes-new",
    { title: phrase("methods:recovery.newCodes.title"), codes, downloadText: text, scripts: ["/public/js/recovery-codes.js"] },
    status,
  );
}

/**
 * Keeps a new set of recovery codes in the session and sends the browser to the page that shows
 * them (post/redirect/get): a reload shows them again, and no form is sent twice. They stay until
 * the user says they saved them, encrypted under APP_ENCRYPTION_KEY like the app secrets: the
 * database keeps recovery codes only as hashes, and the session table is no exception.
 */
export async function showNewRecoveryCodes(
  req: Request,
  res: Response,
  { codes, now, continueTo, config }: { codes: string[]; now: number; continueTo: string; config: Config },
) {
  const sealed = encryptSecret(JSON.stringify(codes), config.encryptionKey, newCodesPurpose(req.user!.id));
  req.session.newRecoveryCodes = { sealed, createdAt: now, continueTo };
  res.redirect(303, newRecoveryCodesPath);
}

/** The new recovery codes kept in the session, or null when there are none (or they cannot be read). */
export function readNewRecoveryCodes(req: Request, config: Config): string[] | null {
  const kept = req.session.newRecoveryCodes;
  if (!kept?.sealed) return null;
  try {
    return JSON.parse(decryptSecret(kept.sealed, config.encryptionKey, newCodesPurpose(req.user!.id)).toString("utf8"));
  } catch {
    return null;
  }
}

const newCodesPurpose = (userId: number) => `new-recovery-codes:${userId}`;

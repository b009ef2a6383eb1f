import { randomBytes } from "node:crypto";
import type { Request } from "express";

// What the session keeps between a security action and the confirmation it needed, and between
// a new set of recovery codes and the page that shows them (post/redirect/get).

export interface PendingAction {
  /** Named in the confirmation form, so only the confirmation this action asked for resumes it. */
  id: string;
  /** The path the POST went to, e.g. /account/recovery-codes. */
  path: string;
  at: number;
}

declare module "express-session" {
  interface SessionData {
    /** A POST that needed a fresh confirmation: done right after the confirmation. */
    pendingAction: PendingAction;
    /** Where the user was going when the login began (the login form's `next`). */
    returnTo: string;
    /**
     * New recovery codes (encrypted, see showNewRecoveryCodes), until the user says they saved
     * them; shown by GET /account/recovery-codes/new.
     */
    newRecoveryCodes: { sealed: string; createdAt: number; continueTo: string };
  }
}

/** How long a confirmation may take and still finish the action that asked for it. */
export const pendingActionLifetimeMs = 10 * 60_000;

export function rememberPendingAction(req: Request, now: number): PendingAction {
  const action = { id: randomBytes(12).toString("base64url"), path: req.originalUrl, at: now };
  req.session.pendingAction = action;
  return action;
}

/** The pending action the confirmation form names, if it is still fresh; it is forgotten either way. */
export function takePendingAction(req: Request, id: unknown, now: number): PendingAction | null {
  const action = req.session.pendingAction;
  delete req.session.pendingAction;
  if (!action || typeof id !== "string" || action.id !== id || now - action.at > pendingActionLifetimeMs) return null;
  return action;
}

/** The pending action named in a confirmation page's address, without taking it. */
export function findPendingAction(req: Request, id: unknown, now: number): PendingAction | null {
  const action = req.session.pendingAction;
  if (!action || typeof id !== "string" || action.id !== id || now - action.at > pendingActionLifetimeMs) return null;
  return action;
}

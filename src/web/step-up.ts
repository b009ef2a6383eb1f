import { randomBytes } from "node:crypto";
import type { Request, Response } from "express";
import type { Message } from "../i18n.js";

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
    /** The challenge of a browser ceremony (a passkey) started to confirm a security change. */
    ceremonyChallenge: { value: string; at: number };
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

/** A security action that the confirmation of who the user is can finish right away. */
export interface ResumableAction {
  /** The POST's path, e.g. /account/recovery-codes. */
  matches(path: string): boolean;
  /**
   * What the confirmation page says it will do ("create a new set of recovery codes"): a catalogue
   * key or a Phrase, translated by the page ("To …, please confirm your password").
   */
  words(path: string): Message;
  run(req: Request, res: Response, path: string): Promise<void>;
}

/**
 * The POSTs a confirmation can finish at once (see requireRecentAuthentication): each router adds
 * its own, the confirmation page looks them up.
 */
export function createResumableActions() {
  const actions: ResumableAction[] = [];
  return {
    add(action: ResumableAction) {
      actions.push(action);
    },
    find(path: string): ResumableAction | undefined {
      return actions.find((action) => action.matches(path));
    },
  };
}

export type ResumableActions = ReturnType<typeof createResumableActions>;

/** How long a browser ceremony's challenge is good for. */
export const ceremonyChallengeLifetimeMs = 5 * 60_000;

/** Keeps the challenge of a browser ceremony for the confirmation that will answer it. */
export function keepCeremonyChallenge(req: Request, value: string, now: number): void {
  req.session.ceremonyChallenge = { value, at: now };
}

/** The kept ceremony challenge when still fresh; it is forgotten either way (it answers once). */
export function takeCeremonyChallenge(req: Request, now: number): string | undefined {
  const kept = req.session.ceremonyChallenge;
  delete req.session.ceremonyChallenge;
  return kept && now - kept.at <= ceremonyChallengeLifetimeMs ? kept.value : undefined;
}

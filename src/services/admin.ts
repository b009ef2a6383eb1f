import type { Config } from "../config.js";
import type { Database } from "../db/database.js";
import type { AuditLog } from "./audit.js";
import type { Clock } from "./clock.js";
import type { SessionService } from "./sessions.js";
import type { TwoFactorService } from "./two-factor/index.js";
import type { UserService } from "./users.js";

export interface AdminServiceDeps {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  users: UserService;
  sessions: SessionService;
  twoFactor: TwoFactorService;
}

export type AdminService = ReturnType<typeof createAdminService>;

/** What admins do to other accounts: every action here is audited. */
export function createAdminService(_deps: AdminServiceDeps) {
  return {};
}

import type { Config } from "../../config.js";
import type { Database } from "../../db/database.js";
import type { AuditLog } from "../audit.js";
import type { Clock } from "../clock.js";
import type { RememberedBrowsers } from "../remembered-browsers.js";
import type { SessionService } from "../sessions.js";
import type { TwoFactorService } from "../two-factor/index.js";
import type { UserService } from "../users.js";

/** Everything the admin area uses; each of its jobs takes the part it needs. */
export interface AdminServiceDeps {
  db: Database;
  clock: Clock;
  config: Config;
  audit: AuditLog;
  users: UserService;
  sessions: SessionService;
  twoFactor: TwoFactorService;
  rememberedBrowsers: Pick<RememberedBrowsers, "forgetBrowsers">;
}

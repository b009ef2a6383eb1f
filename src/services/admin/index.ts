import { createAccountChanges } from "./account-changes.js";
import { createAuditLogSearch } from "./audit-log.js";
import { createCareTeam } from "./care-team.js";
import type { AdminServiceDeps } from "./deps.js";
import { createSecondFactorReset, type OldPhoneWarning } from "./second-factor-reset.js";
import { createUserDetails } from "./user-details.js";
import { createUserList } from "./user-list.js";

// What the web layer, the command line and the tests use; the rest stays with its job.
export type { AuditFilters } from "./audit-log.js";
export { formatCsvCell } from "./audit-log.js";
export type { FactorFact } from "./factor-facts.js";
export type { AdminActionResult, AdminRefusal, AdminSuccess } from "./outcomes.js";
export type { SecondFactorReset } from "./second-factor-reset.js";
export { maxResetReasonLength } from "./second-factor-reset.js";
export { refusedCallsFlagDays } from "./user-details.js";
export type { UserFilters } from "./user-list.js";

export interface AdminServiceOptions {
  /** Absent until phone factors exist: then nothing is sent. */
  oldPhoneWarning?: OldPhoneWarning;
}

/** What admins do to other accounts, one file per job: every change here is audited in its transaction. */
export function createAdminService(deps: AdminServiceDeps, options: AdminServiceOptions = {}) {
  const userDetails = createUserDetails(deps);
  return {
    ...createUserList(deps),
    ...userDetails,
    ...createAccountChanges(deps),
    ...createCareTeam(deps),
    ...createSecondFactorReset(deps, options.oldPhoneWarning),
    ...createAuditLogSearch({ ...deps, findUserByReference: userDetails.findUserByReference }),
  };
}

import type { Config, Role } from "../config.js";

/** Whether users of this role must have a second factor (REQUIRE_2FA_ROLES, default doctor and admin). */
export function isSecondFactorRequired(role: Role, config: Pick<Config, "require2faRoles">): boolean {
  return config.require2faRoles.includes(role);
}

import type { Role } from "../../config.js";
import type { AdminServiceDeps } from "./deps.js";
import { hasSecondFactorSql } from "./factor-facts.js";
import { type Page, placePage } from "./paging.js";

const usersPageSize = 25;

export interface UserFilters {
  /** Part of the name or email address, any case; "" for everyone. */
  search: string;
  role: Role | null;
  twoFactor: "on" | "off" | null;
  /** Login blocked after failed passwords, or the second factor locked after wrong codes, now. */
  locked: boolean | null;
  disabled: boolean | null;
}

export interface UserListRow {
  id: number;
  name: string;
  email: string;
  role: Role;
  hasSecondFactor: boolean;
  isLocked: boolean;
  disabledAt: Date | null;
  lastLoginAt: Date | null;
  createdAt: Date;
}

/** Finding users: search, filters and pages. */
export function createUserList({ db, clock }: Pick<AdminServiceDeps, "db" | "clock">) {
  async function listUsers(filters: UserFilters, askedPage = 1): Promise<Page<UserListRow>> {
    const params: unknown[] = [clock.now()];
    const param = (value: unknown) => `$${params.push(value)}`;
    const isLockedSql = "(coalesce(u.login_blocked_until > $1, false) OR coalesce(u.second_factor_locked_until > $1, false))";
    const conditions: string[] = [];
    const search = filters.search.trim().toLowerCase();
    if (search) {
      const p = param(search);
      conditions.push(`(strpos(lower(u.name), ${p}) > 0 OR strpos(lower(u.email), ${p}) > 0)`);
    }
    if (filters.role) conditions.push(`u.role = ${param(filters.role)}`);
    if (filters.twoFactor === "on") conditions.push(hasSecondFactorSql);
    if (filters.twoFactor === "off") conditions.push(`NOT ${hasSecondFactorSql}`);
    if (filters.locked === true) conditions.push(isLockedSql);
    if (filters.locked === false) conditions.push(`NOT ${isLockedSql}`);
    if (filters.disabled === true) conditions.push("u.disabled_at IS NOT NULL");
    if (filters.disabled === false) conditions.push("u.disabled_at IS NULL");
    // $1 (now) is used only by the lock condition; keep its type known when it is not.
    const where = `WHERE $1::timestamptz IS NOT NULL${conditions.map((condition) => ` AND ${condition}`).join("")}`;

    const counted = await db.query(`SELECT count(*)::int AS n FROM users u ${where}`, params);
    const total = Number(counted.rows[0]?.n ?? 0);
    const { page, pageCount, pageSize, offset } = placePage(askedPage, total, usersPageSize);
    const { rows } = await db.query(
      `SELECT u.id, u.name, u.email, u.role, u.disabled_at, u.last_login_at, u.created_at,
         ${hasSecondFactorSql} AS has_second_factor, ${isLockedSql} AS is_locked
       FROM users u ${where}
       ORDER BY lower(u.name), u.id
       LIMIT ${param(pageSize)} OFFSET ${param(offset)}`,
      params,
    );
    return {
      items: rows.map((row) => ({
        id: Number(row.id),
        name: row.name as string,
        email: row.email as string,
        role: row.role as Role,
        hasSecondFactor: row.has_second_factor === true,
        isLocked: row.is_locked === true,
        disabledAt: (row.disabled_at as Date | null) ?? null,
        lastLoginAt: (row.last_login_at as Date | null) ?? null,
        createdAt: row.created_at as Date,
      })),
      total,
      page,
      pageCount,
      pageSize,
    };
  }

  return { listUsers };
}

import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import type { Role } from "../../config.js";
import {
  type AdminActionResult,
  type AdminRefusal,
  type AuditFilters,
  maxResetReasonLength,
  refusedCallsFlagDays,
  type UserFilters,
} from "../../services/admin/index.js";
import type { Clock } from "../../services/clock.js";
import { HttpError, NotFoundError } from "../../services/errors.js";
import type { Services } from "../../services/index.js";
import type { User } from "../../services/users.js";
import {
  describeAdminOutcome,
  describeAdminRefusal,
  describeCreateUserRefusal,
  describeFactorFact,
  describeRemovedFactors,
  describeResetNotices,
  labelMethod,
} from "../admin-words.js";
import { dateField, field, parseForm } from "../forms.js";
import { phrase, wordsOf } from "../i18n-helpers.js";
import { requireRecentAuthentication } from "../middleware/guards.js";
import { type FormError, renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { setNotice, takeNotice } from "../session.js";

declare global {
  namespace Express {
    interface Request {
      /** The user an admin page is about (the :id of /admin/users/:id…), loaded once by router.param. */
      targetUser?: User;
    }
  }
}

const roleValues = ["patient", "doctor", "admin"] as const satisfies readonly Role[];
// The forms' messages and labels are catalogue keys (locales/<language>/admin.json), worded when
// the page is rendered, in its language.
const roleField = z.enum(roleValues, { error: "admin:errors.chooseRole" });
const pageField = field(6, phrase("admin:labels.page")).regex(/^\d+$/, "admin:errors.pageNotNumber");

const userFiltersQuery = z.object({
  q: field(200, phrase("admin:labels.search")).optional(),
  role: z.enum(["", ...roleValues], { error: "admin:errors.unknownRole" }).optional(),
  twofactor: z.enum(["", "on", "off"], { error: "admin:errors.twoFactorOnOff" }).optional(),
  locked: z.enum(["", "yes", "no"], { error: "admin:errors.lockedYesNo" }).optional(),
  disabled: z.enum(["", "yes", "no"], { error: "admin:errors.disabledYesNo" }).optional(),
  page: pageField.optional(),
});

const auditFiltersQuery = z
  .object({
    user: field(254, phrase("admin:labels.auditUser")).trim().optional(),
    type: field(100, phrase("admin:labels.event")).trim().optional(),
    from: dateField(phrase("admin:labels.from")).optional(),
    to: dateField(phrase("admin:labels.to")).optional(),
    page: pageField.optional(),
  })
  .refine((query) => !query.from || !query.to || query.from <= query.to, { error: "admin:errors.startAfterEnd" });

const csrfField = { _csrf: z.string().optional() };

const newUserForm = z.object({
  name: field(200, phrase("admin:labels.name")).trim().min(1, "admin:errors.nameMissing"),
  email: field(254, phrase("admin:labels.email"))
    .trim()
    .min(1, "admin:errors.emailMissing")
    .pipe(z.email({ error: "forms:errors.emailInvalid" })),
  role: roleField,
  password: field(1024, phrase("admin:labels.firstPassword")).min(1, "admin:errors.passwordMissing"),
  passwordRepeat: field(1024, phrase("admin:labels.repeatPassword")),
  ...csrfField,
});

const roleForm = z.object({ role: roleField, ...csrfField });
const resetForm = z.object({
  reason: field(maxResetReasonLength, phrase("admin:labels.reason"), { multiline: true })
    .trim()
    .min(1, "admin:refusals.resetReasonMissing"),
  ...csrfField,
});
const patientForm = z.object({
  patient: field(254, phrase("admin:labels.assignPatient")).trim().min(1, "admin:errors.patientMissing"),
  ...csrfField,
});
const doctorForm = z.object({
  doctor: field(254, phrase("admin:labels.assignDoctor")).trim().min(1, "admin:errors.doctorMissing"),
  ...csrfField,
});

/** A link to the same list with the same filters, on another page. */
function listHref(base: string, values: Record<string, string | undefined>, page: number): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value) params.set(name, value);
  if (page > 1) params.set("page", String(page));
  const query = params.toString();
  return query ? `${base}?${query}` : base;
}

function pageLinks(base: string, values: Record<string, string | undefined>, page: number, pageCount: number) {
  return {
    previousHref: page > 1 ? listHref(base, values, page - 1) : null,
    nextHref: page < pageCount ? listHref(base, values, page + 1) : null,
  };
}

const noSuchUser = phrase("admin:refusals.userNotFound");
const noSuchAccount = phrase("admin:errors.noSuchAccount");

const usersTitle = phrase("admin:titles.users");
const newUserTitle = phrase("admin:titles.newUser");
const auditTitle = phrase("admin:titles.audit");

function parseUserId(value: unknown): number {
  const id = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFoundError(noSuchUser);
  return id;
}

/** The user the route's :id named, as router.param loaded it. */
function targetOf(req: Request): User {
  if (!req.targetUser) throw new Error(`${req.method} ${req.originalUrl}: a route without :id asked for its user`);
  return req.targetUser;
}

/** A refusal as the error page shows it: the user is gone, or the admin may not do this to them. */
function refusalError(req: Request, refusal: AdminRefusal): HttpError {
  const { status, message } = describeAdminRefusal(refusal, wordsOf(req));
  return status === 404 ? new NotFoundError(message) : new HttpError(status, message);
}

function toUserFilters(query: z.infer<typeof userFiltersQuery>): UserFilters {
  const yesNo = (value: string | undefined) => (value === "yes" ? true : value === "no" ? false : null);
  return {
    search: query.q?.trim() ?? "",
    role: query.role || null,
    twoFactor: query.twofactor || null,
    locked: yesNo(query.locked),
    disabled: yesNo(query.disabled),
  };
}

function toAuditFilters(query: z.infer<typeof auditFiltersQuery>): AuditFilters {
  return { user: query.user ?? "", type: query.type ?? "", from: query.from || null, to: query.to || null };
}

/** Administration. Mounted behind requireUser and requireRole("admin"). */
export function adminRoutes(deps: Services & { clock: Clock }) {
  const { admin, audit, users, clock } = deps;
  const router = Router();

  // Every route with :id acts on that user: load them once, or answer 404 before anything else runs.
  router.param("id", async (req, _res, next, value: string) => {
    const user = await users.findUserById(parseUserId(value));
    if (!user) throw new NotFoundError(noSuchUser);
    req.targetUser = user;
    next();
  });

  // The reset needs a fresh authentication; its form lives on its confirmation page, so go back there.
  const requireFreshAuthentication: RequestHandler = (req, res, next) =>
    requireRecentAuthentication(clock, `/admin/users/${targetOf(req).id}/reset-2fa`)(req, res, next);

  async function renderUserPage(req: Request, res: Response, extra: { error?: FormError | string; status?: number } = {}) {
    const user = targetOf(req);
    const details = await admin.findUserDetails(user);
    if (!details) throw new NotFoundError(noSuchUser);
    renderPage(
      res,
      "admin/user",
      {
        title: user.name,
        details,
        // The views pass their `t`: the factors' words in the page's language.
        describeFactorFact,
        labelMethod,
        isSelf: req.user!.id === user.id,
        roles: roleValues,
        recentEvents: await audit.listEventsForUser(user.id, 10),
        refusedCallsFlagDays,
        notice: takeNotice(req),
        error: extra.error ?? null,
      },
      extra.status ?? 200,
    );
  }

  /**
   * After an action on the page's user: back to their page with what happened at the top, or the
   * refusal explained (beside `field` when it is about one).
   */
  async function finishAction(req: Request, res: Response, result: AdminActionResult, field: string | null = null) {
    if (result.ok) {
      // Worded now, in the admin's language: the page it is shown on is the next one they see.
      req.session.notice = describeAdminOutcome(result, wordsOf(req));
      return res.redirect(303, `/admin/users/${targetOf(req).id}`);
    }
    const { status, message } = describeAdminRefusal(result, wordsOf(req));
    if (status !== 400) throw refusalError(req, result);
    return renderUserPage(req, res, { error: { field, message }, status });
  }

  async function renderResetConfirmation(
    req: Request,
    res: Response,
    extra: { reason?: string; error?: FormError; status?: number } = {},
  ) {
    const details = await admin.findUserDetails(targetOf(req));
    if (!details) throw new NotFoundError(noSuchUser);
    renderPage(
      res,
      "admin/reset-confirm",
      {
        title: phrase("admin:titles.reset", { name: details.user.name }),
        details,
        removedFactors: describeRemovedFactors(details.factors, wordsOf(req)),
        resetNotices: describeResetNotices(details.factors, wordsOf(req)),
        reason: extra.reason ?? "",
        maxResetReasonLength,
        error: extra.error ?? null,
      },
      extra.status ?? 200,
    );
  }

  router.get("/", (req, res) => {
    renderPage(res, "home/admin", { title: phrase("home:admin.title"), notice: takeNotice(req) });
  });

  router.get("/users", async (req, res) => {
    const parsed = parseForm(userFiltersQuery, req.query);
    if (!parsed.ok) {
      return renderPage(
        res,
        "admin/users",
        { title: usersTitle, filters: {}, roles: roleValues, result: null, error: parsed.formError, notice: null },
        400,
      );
    }
    const result = await admin.listUsers(toUserFilters(parsed.data), Number(parsed.data.page ?? 1));
    const { page: _page, ...filters } = parsed.data;
    renderPage(res, "admin/users", {
      title: usersTitle,
      filters,
      roles: roleValues,
      result,
      ...pageLinks("/admin/users", filters, result.page, result.pageCount),
      hasFilters: Object.values(filters).some(Boolean),
      error: null,
      notice: takeNotice(req),
    });
  });

  router.get("/users/new", (_req, res) => {
    renderPage(res, "admin/user-new", { title: newUserTitle, values: { role: "patient" }, roles: roleValues, error: null });
  });

  router.post("/users/new", async (req, res) => {
    const values = {
      name: typeof req.body?.name === "string" ? req.body.name.slice(0, 200) : "",
      email: typeof req.body?.email === "string" ? req.body.email.slice(0, 254) : "",
      role: typeof req.body?.role === "string" ? req.body.role : "patient",
    };
    const again = (error: FormError) =>
      renderPage(res, "admin/user-new", { title: newUserTitle, values, roles: roleValues, error }, 400);
    const parsed = parseForm(newUserForm, req.body);
    if (!parsed.ok) return again(parsed.formError);
    const { name, email, role, password, passwordRepeat } = parsed.data;
    if (password !== passwordRepeat) return again({ field: "passwordRepeat", message: phrase("admin:errors.passwordsDiffer") });
    const result = await admin.createUserAccount(req.user!.id, { name, email, role, password }, requestContext(req));
    if (!result.ok) return again(describeCreateUserRefusal(result, wordsOf(req)));
    setNotice(req, "admin:outcomes.userCreated", { name: result.user.name });
    res.redirect(303, `/admin/users/${result.user.id}`);
  });

  router.get("/users/:id", async (req, res) => {
    await renderUserPage(req, res);
  });

  router.post("/users/:id/role", async (req, res) => {
    const parsed = parseForm(roleForm, req.body);
    if (!parsed.ok) return renderUserPage(req, res, { error: parsed.formError, status: 400 });
    const result = await admin.changeUserRole(req.user!.id, targetOf(req).id, parsed.data.role, requestContext(req));
    await finishAction(req, res, result, "role");
  });

  router.post("/users/:id/disable", async (req, res) => {
    await finishAction(req, res, await admin.disableUser(req.user!.id, targetOf(req).id, requestContext(req)));
  });

  router.post("/users/:id/enable", async (req, res) => {
    await finishAction(req, res, await admin.enableUser(req.user!.id, targetOf(req).id, requestContext(req)));
  });

  router.post("/users/:id/unlock", async (req, res) => {
    await finishAction(req, res, await admin.unlockUser(req.user!.id, targetOf(req).id, requestContext(req)));
  });

  // A destructive reset is asked for on a page of its own: "Reset two-step login for …?", with
  // the reason; the result is shown at the top of the user's page.
  router.get("/users/:id/reset-2fa", requireFreshAuthentication, async (req, res) => {
    if (req.user!.id === targetOf(req).id) throw new HttpError(403, phrase("admin:refusals.ownSecondFactorShort"));
    await renderResetConfirmation(req, res);
  });

  router.post("/users/:id/reset-2fa", requireFreshAuthentication, async (req, res) => {
    const parsed = parseForm(resetForm, req.body);
    const reason = typeof req.body?.reason === "string" ? req.body.reason.slice(0, maxResetReasonLength) : "";
    if (!parsed.ok) return renderResetConfirmation(req, res, { error: parsed.formError, status: 400, reason });
    const result = await admin.resetSecondFactor(req.user!.id, targetOf(req).id, parsed.data.reason, requestContext(req));
    if (!result.ok) {
      const { status, message } = describeAdminRefusal(result, wordsOf(req));
      if (status === 400) return renderResetConfirmation(req, res, { error: { field: "reason", message }, status, reason });
    }
    await finishAction(req, res, result);
  });

  // Links between doctors and patients, from either side.
  router.post("/users/:id/patients", async (req, res) => {
    const parsed = parseForm(patientForm, req.body);
    if (!parsed.ok) return renderUserPage(req, res, { error: parsed.formError, status: 400 });
    const patient = await admin.findUserByReference(parsed.data.patient);
    if (!patient) {
      return renderUserPage(req, res, {
        error: { field: "patient", message: noSuchAccount },
        status: 400,
      });
    }
    const result = await admin.assignPatientToDoctor(req.user!.id, targetOf(req).id, patient.id, requestContext(req));
    await finishAction(req, res, result, "patient");
  });

  router.post("/users/:id/patients/:patientId/unassign", async (req, res) => {
    const patientId = parseUserId(req.params.patientId);
    const result = await admin.unassignPatientFromDoctor(req.user!.id, targetOf(req).id, patientId, requestContext(req));
    await finishAction(req, res, result);
  });

  router.post("/users/:id/doctors", async (req, res) => {
    const parsed = parseForm(doctorForm, req.body);
    if (!parsed.ok) return renderUserPage(req, res, { error: parsed.formError, status: 400 });
    const doctor = await admin.findUserByReference(parsed.data.doctor);
    if (!doctor) {
      return renderUserPage(req, res, {
        error: { field: "doctor", message: noSuchAccount },
        status: 400,
      });
    }
    const result = await admin.assignPatientToDoctor(req.user!.id, doctor.id, targetOf(req).id, requestContext(req));
    await finishAction(req, res, result, "doctor");
  });

  router.post("/users/:id/doctors/:doctorId/unassign", async (req, res) => {
    const doctorId = parseUserId(req.params.doctorId);
    const result = await admin.unassignPatientFromDoctor(req.user!.id, doctorId, targetOf(req).id, requestContext(req));
    await finishAction(req, res, result);
  });

  router.get("/audit", async (req, res) => {
    const eventTypes = await admin.listAuditEventTypes();
    const parsed = parseForm(auditFiltersQuery, req.query);
    if (!parsed.ok) {
      return renderPage(
        res,
        "admin/audit",
        {
          title: auditTitle,
          wide: true,
          filters: {},
          eventTypes,
          result: null,
          csvHref: "/admin/audit.csv",
          error: parsed.formError,
        },
        400,
      );
    }
    const { page, ...filters } = parsed.data;
    const result = await admin.findAuditEvents(toAuditFilters(parsed.data), Number(page ?? 1));
    renderPage(res, "admin/audit", {
      title: auditTitle,
      wide: true,
      filters,
      eventTypes,
      result,
      ...pageLinks("/admin/audit", filters, result.page, result.pageCount),
      csvHref: listHref("/admin/audit.csv", filters, 1),
      hasFilters: Object.values(filters).some(Boolean),
      error: null,
    });
  });

  router.get("/audit.csv", async (req, res) => {
    const parsed = parseForm(auditFiltersQuery, req.query);
    if (!parsed.ok) throw new HttpError(400, parsed.formError.message);
    // The service records who took the copy, in the transaction that reads it.
    const result = await admin.exportAuditEventsCsv(req.user!.id, toAuditFilters(parsed.data), requestContext(req));
    if (!result.ok) throw refusalError(req, result);
    const day = clock.now().toISOString().slice(0, 10);
    res.set("Content-Type", "text/csv; charset=utf-8");
    res.set("Content-Disposition", `attachment; filename="audit-log-${day}.csv"`);
    res.send(result.csv);
  });

  return router;
}

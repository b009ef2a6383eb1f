import { type Request, type RequestHandler, type Response, Router } from "express";
import { z } from "zod";
import type { Role } from "../../config.js";
import {
  type ActionResult,
  type AuditFilters,
  maxResetReasonLength,
  noAuditFilters,
  refusedCallsFlagDays,
  type UserFilters,
} from "../../services/admin.js";
import type { Clock } from "../../services/clock.js";
import { HttpError, NotFoundError } from "../../services/errors.js";
import type { Services } from "../../services/index.js";
import { dateField, field, parseForm } from "../forms.js";
import { requireRecentAuthentication } from "../middleware/guards.js";
import { type FormError, renderPage } from "../render.js";
import { requestContext } from "../request-context.js";
import { takeNotice } from "../session.js";

const roleValues = ["patient", "doctor", "admin"] as const satisfies readonly Role[];
const roleField = z.enum(roleValues, { error: "Choose a role: patient, doctor or admin." });
const pageField = field(6, "Page").regex(/^\d+$/, "The page number is not a number.");

const userFiltersQuery = z.object({
  q: field(200, "Name or email contains").optional(),
  role: z.enum(["", ...roleValues], { error: "Unknown role." }).optional(),
  twofactor: z.enum(["", "on", "off"], { error: "Two-step login is on or off." }).optional(),
  locked: z.enum(["", "yes", "no"], { error: "Locked is yes or no." }).optional(),
  disabled: z.enum(["", "yes", "no"], { error: "Disabled is yes or no." }).optional(),
  page: pageField.optional(),
});

const auditFiltersQuery = z
  .object({
    user: field(254, "User").trim().optional(),
    type: field(100, "Event").trim().optional(),
    from: dateField("From (date)").optional(),
    to: dateField("To (date, included)").optional(),
    page: pageField.optional(),
  })
  .refine((query) => !query.from || !query.to || query.from <= query.to, { error: "The start date is after the end date." });

const csrfField = { _csrf: z.string().optional() };

const newUserForm = z.object({
  name: field(200, "Name").trim().min(1, "Enter the person's name."),
  email: field(254, "Email address")
    .trim()
    .min(1, "Enter their email address.")
    .pipe(z.email({ error: "Enter a valid email address, like name@example.com." })),
  role: roleField,
  password: field(1024, "First password").min(1, "Enter a first password."),
  passwordRepeat: field(1024, "Repeat the first password"),
  ...csrfField,
});

const roleForm = z.object({ role: roleField, ...csrfField });
const resetForm = z.object({
  reason: field(maxResetReasonLength, "Reason", { multiline: true })
    .trim()
    .min(1, "Give the reason for the reset (for example: lost phone, new phone)."),
  ...csrfField,
});
const patientForm = z.object({
  patient: field(254, "Assign a patient").trim().min(1, "Enter the patient's email address or number."),
  ...csrfField,
});
const doctorForm = z.object({
  doctor: field(254, "Assign a doctor").trim().min(1, "Enter the doctor's email address or number."),
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

function parseUserId(value: unknown): number {
  const id = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new NotFoundError("There is no user with that number.");
  return id;
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
  const { admin, audit, clock } = deps;
  const router = Router();

  // The reset needs a fresh authentication; its form lives on its confirmation page, so go back there.
  const requireFreshAuthentication: RequestHandler = (req, res, next) => {
    const id = String(req.params.id ?? "");
    const back = /^\d{1,15}$/.test(id) ? `/admin/users/${id}/reset-2fa` : "/admin/users";
    return requireRecentAuthentication(clock, back)(req, res, next);
  };

  async function renderUserPage(
    req: Request,
    res: Response,
    userId: number,
    extra: { error?: FormError | string; status?: number } = {},
  ) {
    const details = await admin.findUserDetails(userId);
    if (!details) throw new NotFoundError("There is no user with that number.");
    renderPage(
      res,
      "admin/user",
      {
        title: details.user.name,
        details,
        isSelf: req.user!.id === userId,
        roles: roleValues,
        recentEvents: await audit.listEventsForUser(userId, 10),
        refusedCallsFlagDays,
        notice: takeNotice(req),
        error: extra.error ?? null,
      },
      extra.status ?? 200,
    );
  }

  /**
   * After an action: back to the user's page with its message at the top, or the failure
   * explained (beside `field` when the failure is about one).
   */
  async function finishAction(req: Request, res: Response, userId: number, result: ActionResult, field: string | null = null) {
    if (result.ok) {
      req.session.notice = result.message;
      return res.redirect(303, `/admin/users/${userId}`);
    }
    if (result.status === 404) throw new NotFoundError(result.error);
    if (result.status === 403) throw new HttpError(403, result.error);
    return renderUserPage(req, res, userId, { error: { field, message: result.error }, status: result.status });
  }

  async function renderResetConfirmation(
    res: Response,
    userId: number,
    extra: { reason?: string; error?: FormError; status?: number } = {},
  ) {
    const details = await admin.findUserDetails(userId);
    if (!details) throw new NotFoundError("There is no user with that number.");
    renderPage(
      res,
      "admin/reset-confirm",
      {
        title: `Reset two-step login for ${details.user.name}?`,
        details,
        reason: extra.reason ?? "",
        maxResetReasonLength,
        error: extra.error ?? null,
      },
      extra.status ?? 200,
    );
  }

  router.get("/", (req, res) => {
    renderPage(res, "home/admin", { title: "Administration", notice: takeNotice(req) });
  });

  router.get("/users", async (req, res) => {
    const parsed = parseForm(userFiltersQuery, req.query);
    if (!parsed.ok) {
      return renderPage(
        res,
        "admin/users",
        { title: "Users", filters: {}, roles: roleValues, result: null, error: parsed.formError, notice: null },
        400,
      );
    }
    const result = await admin.listUsers(toUserFilters(parsed.data), Number(parsed.data.page ?? 1));
    const { page: _page, ...filters } = parsed.data;
    renderPage(res, "admin/users", {
      title: "Users",
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
    renderPage(res, "admin/user-new", { title: "New user", values: { role: "patient" }, roles: roleValues, error: null });
  });

  router.post("/users/new", async (req, res) => {
    const values = {
      name: typeof req.body?.name === "string" ? req.body.name.slice(0, 200) : "",
      email: typeof req.body?.email === "string" ? req.body.email.slice(0, 254) : "",
      role: typeof req.body?.role === "string" ? req.body.role : "patient",
    };
    const again = (error: FormError) =>
      renderPage(res, "admin/user-new", { title: "New user", values, roles: roleValues, error }, 400);
    const parsed = parseForm(newUserForm, req.body);
    if (!parsed.ok) return again(parsed.formError);
    const { name, email, role, password, passwordRepeat } = parsed.data;
    if (password !== passwordRepeat)
      return again({ field: "passwordRepeat", message: "The two passwords differ. Type the same password twice." });
    const result = await admin.createUserAccount(req.user!.id, { name, email, role, password }, requestContext(req));
    if (!result.ok) return again({ field: result.about, message: result.error });
    req.session.notice = `The account of ${result.user.name} was created. At their first login they must choose a new password.`;
    res.redirect(303, `/admin/users/${result.user.id}`);
  });

  router.get("/users/:id", async (req, res) => {
    await renderUserPage(req, res, parseUserId(req.params.id));
  });

  router.post("/users/:id/role", async (req, res) => {
    const userId = parseUserId(req.params.id);
    const parsed = parseForm(roleForm, req.body);
    if (!parsed.ok) return renderUserPage(req, res, userId, { error: parsed.formError, status: 400 });
    await finishAction(
      req,
      res,
      userId,
      await admin.changeUserRole(req.user!.id, userId, parsed.data.role, requestContext(req)),
      "role",
    );
  });

  router.post("/users/:id/disable", async (req, res) => {
    const userId = parseUserId(req.params.id);
    await finishAction(req, res, userId, await admin.disableUser(req.user!.id, userId, requestContext(req)));
  });

  router.post("/users/:id/enable", async (req, res) => {
    const userId = parseUserId(req.params.id);
    await finishAction(req, res, userId, await admin.enableUser(req.user!.id, userId, requestContext(req)));
  });

  router.post("/users/:id/unlock", async (req, res) => {
    const userId = parseUserId(req.params.id);
    await finishAction(req, res, userId, await admin.unlockUser(req.user!.id, userId, requestContext(req)));
  });

  // A destructive reset is asked for on a page of its own: "Reset two-step login for …?", with
  // the reason; the result is shown at the top of the user's page.
  router.get("/users/:id/reset-2fa", requireFreshAuthentication, async (req, res) => {
    const userId = parseUserId(req.params.id);
    if (req.user!.id === userId) throw new HttpError(403, "You cannot reset your own second factor. Ask another admin.");
    await renderResetConfirmation(res, userId);
  });

  router.post("/users/:id/reset-2fa", requireFreshAuthentication, async (req, res) => {
    const userId = parseUserId(req.params.id);
    const parsed = parseForm(resetForm, req.body);
    const reason = typeof req.body?.reason === "string" ? req.body.reason.slice(0, maxResetReasonLength) : "";
    if (!parsed.ok) return renderResetConfirmation(res, userId, { error: parsed.formError, status: 400, reason });
    const result = await admin.resetSecondFactor(req.user!.id, userId, parsed.data.reason, requestContext(req));
    if (!result.ok && result.status === 400)
      return renderResetConfirmation(res, userId, { error: { field: "reason", message: result.error }, status: 400, reason });
    await finishAction(req, res, userId, result);
  });

  // Links between doctors and patients, from either side.
  router.post("/users/:id/patients", async (req, res) => {
    const doctorId = parseUserId(req.params.id);
    const parsed = parseForm(patientForm, req.body);
    if (!parsed.ok) return renderUserPage(req, res, doctorId, { error: parsed.formError, status: 400 });
    const patient = await admin.findUserByReference(parsed.data.patient);
    if (!patient)
      return renderUserPage(req, res, doctorId, {
        error: { field: "patient", message: "No account has that email address or number." },
        status: 400,
      });
    await finishAction(
      req,
      res,
      doctorId,
      await admin.assignPatientToDoctor(req.user!.id, doctorId, patient.id, requestContext(req)),
      "patient",
    );
  });

  router.post("/users/:id/patients/:patientId/unassign", async (req, res) => {
    const doctorId = parseUserId(req.params.id);
    const patientId = parseUserId(req.params.patientId);
    await finishAction(
      req,
      res,
      doctorId,
      await admin.unassignPatientFromDoctor(req.user!.id, doctorId, patientId, requestContext(req)),
    );
  });

  router.post("/users/:id/doctors", async (req, res) => {
    const patientId = parseUserId(req.params.id);
    const parsed = parseForm(doctorForm, req.body);
    if (!parsed.ok) return renderUserPage(req, res, patientId, { error: parsed.formError, status: 400 });
    const doctor = await admin.findUserByReference(parsed.data.doctor);
    if (!doctor)
      return renderUserPage(req, res, patientId, {
        error: { field: "doctor", message: "No account has that email address or number." },
        status: 400,
      });
    await finishAction(
      req,
      res,
      patientId,
      await admin.assignPatientToDoctor(req.user!.id, doctor.id, patientId, requestContext(req)),
      "doctor",
    );
  });

  router.post("/users/:id/doctors/:doctorId/unassign", async (req, res) => {
    const patientId = parseUserId(req.params.id);
    const doctorId = parseUserId(req.params.doctorId);
    await finishAction(
      req,
      res,
      patientId,
      await admin.unassignPatientFromDoctor(req.user!.id, doctorId, patientId, requestContext(req)),
    );
  });

  router.get("/audit", async (req, res) => {
    const eventTypes = await admin.listAuditEventTypes();
    const parsed = parseForm(auditFiltersQuery, req.query);
    if (!parsed.ok) {
      return renderPage(
        res,
        "admin/audit",
        {
          title: "Audit log",
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
      title: "Audit log",
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
    if (!parsed.ok) throw new HttpError(400, parsed.error);
    const filters = toAuditFilters(parsed.data);
    const result = await admin.exportAuditEventsCsv(filters);
    if (!result.ok) throw new HttpError(result.status, result.error);
    // Who took a copy of the log is itself a security event.
    await audit.recordEvent(
      {
        type: "admin.audit_exported",
        actorUserId: req.user!.id,
        details: { filters: { ...noAuditFilters, ...filters }, rows: result.rowCount },
      },
      requestContext(req),
    );
    const day = clock.now().toISOString().slice(0, 10);
    res.set("Content-Type", "text/csv; charset=utf-8");
    res.set("Content-Disposition", `attachment; filename="audit-log-${day}.csv"`);
    res.send(result.csv);
  });

  return router;
}

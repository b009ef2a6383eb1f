import { type RequestHandler, Router } from "express";
import { NotFoundError } from "../../services/errors.js";
import { includesSecondFactor } from "../../services/two-factor/index.js";
import type { UserService } from "../../services/users.js";
import { phrase } from "../i18n-helpers.js";
import { renderPage } from "../render.js";
import { takeNotice } from "../session.js";

/** Sends a signed-in user to the home page of their role. Mounted behind requireUser. */
export const homeRedirect: RequestHandler = (req, res) => {
  const role = req.user?.role;
  res.redirect(role === "doctor" ? "/doctor" : role === "admin" ? "/admin" : "/patient");
};

export function patientRoutes({ users }: { users: UserService }) {
  const router = Router();
  router.get("/", async (req, res) => {
    const patient = req.user!;
    const doctors = await users.listDoctorsOfPatient(patient.id);
    // Patients are invited, never forced, to set up two-step login.
    const showTwoFactorInvite = !req.session.twoFactorInviteDismissed && !includesSecondFactor(req.userFactors ?? []);
    renderPage(res, "home/patient", {
      title: phrase("home:patient.title"),
      doctors,
      showTwoFactorInvite,
      notice: takeNotice(req),
    });
  });
  return router;
}

export function doctorRoutes({ users }: { users: UserService }) {
  const router = Router();
  router.get("/", async (req, res) => {
    const patients = await users.listPatientsOfDoctor(req.user!.id);
    renderPage(res, "home/doctor", { title: phrase("home:doctor.title"), patients, notice: takeNotice(req) });
  });
  router.get("/patients/:id", async (req, res) => {
    const id = Number(req.params.id);
    // A patient who is not this doctor's does not exist as far as this doctor can tell.
    const patient = Number.isSafeInteger(id) && id > 0 ? await users.findPatientOfDoctor(req.user!.id, id) : null;
    if (!patient) throw new NotFoundError(phrase("errors:messages.patientNotFound"));
    renderPage(res, "home/doctor-patient", { title: patient.name, patient });
  });
  return router;
}

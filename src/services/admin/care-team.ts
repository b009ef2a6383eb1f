import type { Role } from "../../config.js";
import type { RequestContext } from "../audit.js";
import type { AdminServiceDeps } from "./deps.js";
import type { Refusal, Success } from "./outcomes.js";

/** Which patients a doctor may see: the links between doctors and patients. */
export function createCareTeam({ db, clock, audit }: Pick<AdminServiceDeps, "db" | "clock" | "audit">) {
  async function assignPatientToDoctor(
    adminId: number,
    doctorId: number,
    patientId: number,
    context: RequestContext,
  ): Promise<
    Success<"patient_assigned" | "patient_already_assigned"> | Refusal<"user_not_found" | "not_a_doctor" | "not_a_patient">
  > {
    return db.transaction(async (tx) => {
      // FOR SHARE: a role change waits until the link is in, and then removes it if it no longer fits.
      const { rows } = await tx.query("SELECT id, name, role FROM users WHERE id = ANY($1::bigint[]) FOR SHARE", [
        [doctorId, patientId],
      ]);
      const byId = new Map(rows.map((row) => [Number(row.id), { name: row.name as string, role: row.role as Role }]));
      const doctor = byId.get(doctorId);
      const patient = byId.get(patientId);
      if (!doctor || !patient) return { ok: false, reason: "user_not_found" } as const;
      if (doctor.role !== "doctor") return { ok: false, reason: "not_a_doctor", name: doctor.name } as const;
      if (patient.role !== "patient") return { ok: false, reason: "not_a_patient", name: patient.name } as const;
      const { rowCount } = await tx.query(
        "INSERT INTO doctor_patients (doctor_id, patient_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [doctorId, patientId, clock.now()],
      );
      const names = { doctorName: doctor.name, patientName: patient.name };
      if (rowCount !== 1) return { ok: true, outcome: "patient_already_assigned", ...names } as const;
      await audit.recordEvent(
        { type: "admin.patient_assigned", actorUserId: adminId, subjectUserId: patientId, details: { doctorId, patientId } },
        context,
        tx,
      );
      return { ok: true, outcome: "patient_assigned", ...names } as const;
    });
  }

  async function unassignPatientFromDoctor(
    adminId: number,
    doctorId: number,
    patientId: number,
    context: RequestContext,
  ): Promise<Success<"patient_unassigned"> | Refusal<"not_linked">> {
    const removed = await db.transaction(async (tx) => {
      const { rowCount } = await tx.query("DELETE FROM doctor_patients WHERE doctor_id = $1 AND patient_id = $2", [
        doctorId,
        patientId,
      ]);
      if (rowCount !== 1) return false;
      await audit.recordEvent(
        { type: "admin.patient_unassigned", actorUserId: adminId, subjectUserId: patientId, details: { doctorId, patientId } },
        context,
        tx,
      );
      return true;
    });
    if (!removed) return { ok: false, reason: "not_linked" };
    return { ok: true, outcome: "patient_unassigned" };
  }

  return { assignPatientToDoctor, unassignPatientFromDoctor };
}

import { Router } from "express";
import type { Database } from "../../db/database.js";
import type { Clock } from "../../services/clock.js";

// A wrong server clock is the top cause of "invalid code" complaints with authenticator apps.
export const clockSkewWarningSeconds = 30;

export function healthRoutes({ db, clock }: { db: Database; clock: Clock }) {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.set("Cache-Control", "no-store").json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    res.set("Cache-Control", "no-store");
    try {
      const { rows } = await db.query("SELECT now() AS now");
      const skewSeconds = Math.round((clock.now().getTime() - (rows[0]!.now as Date).getTime()) / 1000);
      const clockOk = Math.abs(skewSeconds) <= clockSkewWarningSeconds;
      res.json({
        status: "ready",
        database: "ok",
        clock: clockOk ? "ok" : `off by ${skewSeconds} s from the database server: authenticator codes will fail`,
      });
    } catch {
      res.status(503).json({ status: "unavailable", database: "unreachable" });
    }
  });
  return router;
}

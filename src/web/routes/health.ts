import { Router } from "express";
import type { Database } from "../../db/database.js";
import type { Clock } from "../../services/clock.js";
import { describeClockSkew, measureClockSkewSeconds } from "../../services/clock-skew.js";

export function healthRoutes({ db, clock }: { db: Database; clock: Clock }) {
  const router = Router();
  router.get("/healthz", (_req, res) => {
    res.set("Cache-Control", "no-store").json({ status: "ok" });
  });
  router.get("/readyz", async (_req, res) => {
    res.set("Cache-Control", "no-store");
    try {
      const skew = describeClockSkew(await measureClockSkewSeconds(db, clock));
      res.json({ status: "ready", database: "ok", clock: skew ?? "ok" });
    } catch {
      res.status(503).json({ status: "unavailable", database: "unreachable" });
    }
  });
  return router;
}

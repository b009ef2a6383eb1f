import { Router } from "express";
import type { Clock } from "../../services/clock.js";
import type { Services } from "../../services/index.js";
import { renderPage } from "../render.js";

/** Administration. Mounted behind requireUser and requireRole("admin"). */
export function adminRoutes(_deps: Services & { clock: Clock }) {
  const router = Router();
  router.get("/", (_req, res) => {
    renderPage(res, "home/admin", { title: "Administration" });
  });
  return router;
}

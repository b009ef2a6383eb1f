import { Router } from "express";
import { renderPage } from "../render.js";

export function helpRoutes() {
  const router = Router();
  router.get("/help/2fa", (_req, res) => {
    renderPage(res, "help/two-factor", { title: "Help with two-step login" });
  });
  return router;
}

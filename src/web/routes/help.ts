import { Router } from "express";
import { phrase } from "../i18n-helpers.js";
import { renderPage } from "../render.js";

export function helpRoutes() {
  const router = Router();
  router.get("/help/2fa", (_req, res) => {
    renderPage(res, "help/two-factor", { title: phrase("help:title") });
  });
  return router;
}

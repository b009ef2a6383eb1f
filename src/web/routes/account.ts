import { Router } from "express";
import { renderPage } from "../render.js";

export function accountRoutes() {
  const router = Router();
  router.get("/security", (_req, res) => {
    renderPage(res, "account/security", { title: "Security settings" });
  });
  return router;
}

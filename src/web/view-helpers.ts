import type { RequestHandler } from "express";
import type { Config } from "../config.js";
import { describeBrowser, describeSecurityEvent } from "./security-words.js";

/** Locals every view may use. */
export function viewHelpers(config: Config): RequestHandler {
  const timeFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Amsterdam" });
  const clockFormat = new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: "Europe/Amsterdam" });
  return (req, res, next) => {
    res.locals.portalName = config.portalName;
    res.locals.currentPath = req.path;
    res.locals.user = undefined;
    res.locals.formatDateTime = (date: Date) => timeFormat.format(date);
    res.locals.formatClock = (date: Date) => clockFormat.format(date);
    res.locals.describeEvent = describeSecurityEvent;
    res.locals.describeBrowser = describeBrowser;
    next();
  };
}

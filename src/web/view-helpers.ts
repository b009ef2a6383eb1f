import type { RequestHandler } from "express";
import type { Config } from "../config.js";
import { telUri } from "../services/phone-numbers.js";
import { canonicalAddress } from "./request-context.js";
import { describeBrowser, describeSecurityEvent } from "./security-words.js";

const clockFormat = new Intl.DateTimeFormat("en-GB", { timeStyle: "short", timeZone: "Europe/Amsterdam" });

/** "18:21": a time of day as the practice's users read it (Amsterdam time). */
export function formatClock(date: Date): string {
  return clockFormat.format(date);
}

/** An address as people know it: an IPv4 client seen through an IPv6 socket ("::ffff:127.0.0.1") plainly. */
export function formatIp(ip: string | null | undefined): string {
  return ip ? canonicalAddress(ip) : "—";
}

/** Locals every view may use. */
export function viewHelpers(config: Config): RequestHandler {
  const timeFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Amsterdam" });
  const practicePhone = config.practicePhone
    ? { written: config.practicePhone, uri: telUri(config.practicePhone, config.phoneDefaultRegion) }
    : null;
  return (req, res, next) => {
    res.locals.portalName = config.portalName;
    res.locals.practicePhone = practicePhone;
    res.locals.currentPath = req.path;
    res.locals.user = undefined;
    res.locals.formatDateTime = (date: Date) => timeFormat.format(date);
    res.locals.formatClock = formatClock;
    res.locals.formatIp = formatIp;
    res.locals.describeEvent = describeSecurityEvent;
    res.locals.describeBrowser = describeBrowser;
    next();
  };
}

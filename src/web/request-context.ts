import type { Request } from "express";
import type { RequestContext } from "../services/audit.js";

export function requestContext(req: Request): RequestContext {
  // req.ip honours X-Forwarded-For only as far as TRUST_PROXY allows.
  return { ip: req.ip ?? req.socket.remoteAddress, userAgent: req.get("user-agent") };
}

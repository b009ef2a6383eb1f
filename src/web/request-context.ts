import type { Request } from "express";
import type { RequestContext } from "../services/audit.js";

export function requestContext(req: Request): RequestContext {
  // req.ip honours X-Forwarded-For only as far as TRUST_PROXY allows. An IPv4 client reached over
  // an IPv6 socket is kept as the IPv4 address people know ("127.0.0.1", not "::ffff:127.0.0.1").
  const ip = req.ip ?? req.socket.remoteAddress;
  return { ip: ip && plainIp(ip), userAgent: req.get("user-agent") };
}

/** "::ffff:127.0.0.1" (an IPv4 client on an IPv6 socket) as "127.0.0.1"; other addresses as they are. */
export function plainIp(ip: string): string {
  return ip.replace(/^::ffff:(\d{1,3}(\.\d{1,3}){3})$/i, "$1");
}

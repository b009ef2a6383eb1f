import type { Request } from "express";
import ipaddr from "ipaddr.js";
import { isLocale } from "../config.js";
import type { RequestContext } from "../services/audit.js";

export function requestContext(req: Request): RequestContext {
  // req.ip honours X-Forwarded-For only as far as TRUST_PROXY allows.
  const raw = req.ip ?? req.socket.remoteAddress;
  const ip = raw ? canonicalAddress(raw) : undefined;
  // The page's language (web/language.ts): a first login saves it as the user's.
  const locale = isLocale(req.language) ? req.language : undefined;
  return { ip, clientKey: ip && clientKeyOf(ip), userAgent: req.get("user-agent"), ...(locale ? { locale } : {}) };
}

/**
 * One spelling per address, so that a limit cannot be escaped by writing the same address another
 * way: an IPv4 client on an IPv6 socket ("::ffff:127.0.0.1") as "127.0.0.1", IPv6 in its short
 * form (RFC 5952), and any port a proxy appended dropped.
 */
export function canonicalAddress(value: string): string {
  let text = value.trim();
  text = /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? text;
  text = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text)?.[1] ?? text;
  if (!ipaddr.isValid(text)) return text.slice(0, 64);
  return ipaddr.process(text).toString();
}

/** An IPv6 client can use any of the 2^64 addresses of its network: limits count the /64. */
export function clientKeyOf(address: string): string {
  if (!ipaddr.IPv6.isValid(address)) return address;
  const network = ipaddr.IPv6.parse(address).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...network, 0, 0, 0, 0]).toString()}/64`;
}

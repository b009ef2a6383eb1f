import type { RequestHandler } from "express";
import helmet from "helmet";
import type { Config } from "../../config.js";

export function securityHeaders(config: Config): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        ...(config.isProduction ? { "upgrade-insecure-requests": [] } : {}),
      },
    },
    // One year, only where the portal is served over HTTPS.
    strictTransportSecurity: config.isProduction ? { maxAge: 31536000, includeSubDomains: true } : false,
    referrerPolicy: { policy: "same-origin" },
    // The same answer as frame-ancestors 'none', for browsers that only read the older header.
    xFrameOptions: { action: "deny" },
    crossOriginEmbedderPolicy: false,
  });
}

/** Signed-in pages and forms must never be kept by a browser or proxy cache. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set("Cache-Control", "no-store");
  next();
};

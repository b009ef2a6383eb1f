import type { TwoFactorService } from "../../services/two-factor/index.js";
import type { LoginStep } from "../../web/login-step.js";
import { typedCodeLoginRoutes } from "../../web/typed-code-routes.js";

/** /login/2fa/app: the code the authenticator app shows. */
export function appLoginRoutes(deps: { twoFactor: TwoFactorService; loginStep: LoginStep }) {
  return typedCodeLoginRoutes(deps, { kind: "app", view: "methods/app/login", title: "Code from your app" });
}

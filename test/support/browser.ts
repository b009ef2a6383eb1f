import { mkdirSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before } from "node:test";
import { AxeBuilder } from "@axe-core/playwright";
import { type Browser, chromium, type Page } from "playwright-core";
import { ensureDemoAccounts } from "../../src/services/demo.js";
import { startTestApp, type TestApp } from "./app.js";

export const screenshotDir = path.resolve("test-results/screenshots");

/** Debian's Chromium, headless, with nothing that reaches outside this machine. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** Serves the test app on a loopback port; returns its base URL and a stop function. */
export async function serveApp(app: TestApp["app"]): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function screenshot(page: Page, journey: string, step: string): Promise<string> {
  const dir = path.join(screenshotDir, journey);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${step}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Accessibility problems axe rates serious or critical on the current page. */
export async function seriousAccessibilityProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(" ")).join(", ")})`,
    );
}

export interface Journey {
  t: TestApp;
  server: Awaited<ReturnType<typeof serveApp>>;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Everything a browser journey stands on: the app with the demo accounts (development outbox as
 * its phone gateway), served on loopback, and Chromium.
 */
export async function startJourney(): Promise<Journey> {
  // The practice's number, as a practice would configure it: pages that send users to the
  // practice show it.
  const t = await startTestApp({ env: { PHONE_GATEWAY: "outbox", PRACTICE_PHONE: "020 123 4567" } });
  await ensureDemoAccounts(t.services);
  const server = await serveApp(t.app);
  const browser = await launchChromium();
  return {
    t,
    server,
    browser,
    close: async () => {
      await browser.close();
      await server.stop();
      await t.close();
    },
  };
}

/**
 * Waits until the page is at the URL; when it does not get there, the error says where it is and
 * what it shows, so a failure on a busy CI machine can be understood from the log alone.
 */
export async function waitForPage(
  page: Page,
  url: string | RegExp | ((url: URL) => boolean),
  { timeout = 30_000 } = {},
): Promise<void> {
  try {
    await page.waitForURL(url, { timeout });
  } catch (error) {
    const heading = await page
      .locator("h1")
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => null);
    const alert = await page
      .getByRole("alert")
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => null);
    throw new Error(
      `expected ${url}, but the page is at ${page.url()} showing "${heading?.trim()}"${alert ? ` with "${alert.trim()}"` : ""}`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Starts a journey's app, server and Chromium before the file's tests and closes them after; the
 * returned object is filled in once `before` has run.
 */
export function useJourney(): Journey {
  const journey = {} as Journey;
  before(async () => {
    Object.assign(journey, await startJourney());
  });
  after(async () => {
    await journey.close?.();
  });
  return journey;
}

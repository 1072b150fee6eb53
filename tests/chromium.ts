/**
 * Debian's chromium through playwright-core, as the report tests open pages: headless, with the
 * flags a closed network needs, collecting console errors and every request the page makes.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
/** The flags a closed network needs: nothing phones home, nothing updates. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface OpenedPage {
  page: Page;
  url: string;
  /** Console errors and warnings, and uncaught page errors. */
  errors: string[];
  /** Every URL the page requested (the file itself included). */
  requests: string[];
}

/** Opens an HTML file in chromium, runs `check` on it, and closes the browser. */
export async function withPageInChromium(file: string, check: (p: OpenedPage) => Promise<void>): Promise<void> {
  const { chromium } = await import("playwright-core");
  const context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "lwm-chromium-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1200, height: 900 },
  });
  try {
    const errors: string[] = [];
    const requests: string[] = [];
    context.on("request", (r) => requests.push(r.url()));
    const page = await context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(e.message));
    const url = pathToFileURL(file).href;
    await page.goto(url, { waitUntil: "load" });
    await check({ page, url, errors, requests });
  } finally {
    await context.close();
  }
}

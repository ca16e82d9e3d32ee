/**
 * One operator journey in the machine's Chromium: a page on the local Temporal Web UI, and a screenshot of
 * each step saved as a test artifact (`.dbops/browser-artifacts/<journey>/NN-<step>.png`; with
 * `DBOPS_SCREENSHOT_DIR` also copied there — that is how docs/screenshots is refreshed).
 */
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { PATHS } from '../../../scripts/stack/paths';

/** The Web UI of the local stack, and the namespace every page lives in. */
export const WEB_UI = 'http://127.0.0.1:8233';
export const NAMESPACE = 'default';

/** Where a run's screenshots are kept (git-ignored). */
export const ARTIFACT_DIR = join(PATHS.state, 'browser-artifacts');

export class Journey {
  private browser?: Browser;
  private count = 0;
  readonly screenshots: string[] = [];

  private constructor(
    private readonly name: string,
    readonly page: Page,
    browser: Browser,
  ) {
    this.browser = browser;
  }

  /** Opens a fresh browser for the journey; its artifact folder is emptied first. */
  static async open(name: string): Promise<Journey> {
    const browser = await chromium.launch({ executablePath: inject('chromiumPath'), args: ['--no-sandbox'] });
    try {
      const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, timezoneId: 'UTC' });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      rmSync(join(ARTIFACT_DIR, name), { recursive: true, force: true });
      mkdirSync(join(ARTIFACT_DIR, name), { recursive: true });
      return new Journey(name, page, browser);
    } catch (err) {
      await browser.close();
      throw err;
    }
  }

  /** Opens a Web UI path of the namespace, e.g. `/workflows`. */
  async go(path: string): Promise<void> {
    await this.page.goto(`${WEB_UI}/namespaces/${NAMESPACE}${path}`);
  }

  /** Saves a full-page screenshot of the current step. */
  async shot(step: string): Promise<string> {
    this.count += 1;
    const file = `${String(this.count).padStart(2, '0')}-${step}.png`;
    const path = join(ARTIFACT_DIR, this.name, file);
    await this.page.screenshot({ path, fullPage: true });
    this.screenshots.push(path);
    const docs = process.env.DBOPS_SCREENSHOT_DIR;
    if (docs) {
      mkdirSync(docs, { recursive: true });
      copyFileSync(path, join(docs, `${this.name}-${file}`));
    }
    return path;
  }

  async close(): Promise<void> {
    await this.browser?.close();
    this.browser = undefined;
  }
}

/**
 * The dashboard served by `o2-archiver serve` after a run, opened in headless
 * Chromium (Debian's package, driven by playwright-core): the counts shown
 * are the report's, numbers are masked (in full only with the admin key), and a screenshot is
 * saved. Where /usr/bin/chromium is missing the test is skipped, with why.
 */
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startServe, type ServeHandle } from '../../local/cli/commands/serve';
import { maskPhone } from '../../shared/model/phone';
import type { ReportCounts, RunReport } from '../../shared/run/report';
import { PROJECT_ROOT, SAMPLE_WINDOW, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(240_000);

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`SKIPPED dashboard test: ${CHROMIUM} is missing (install Debian's chromium package to run it)`);
const KEYS = { functionKey: 'dash-function-key-0123456789', adminKey: 'dash-admin-key-0123456789abcd' };

(hasChromium ? describe : describe.skip)('dashboard in headless Chromium', () => {
  let env: TestStack;
  let serve: ServeHandle;
  let browser: BrowserContext;
  let report: RunReport;

  beforeAll(async () => {
    env = await startTestStack({ sample: { generatedItems: 12, bigItems: false, invalidRecords: 1 } });
    const started = await env.runner.startRun({ trigger: 'cli', window: SAMPLE_WINDOW });
    report = (await env.runner.waitForRun(started)).report!;
    serve = await startServe({ settings: env.stack.settings, runner: env.runner, keys: KEYS, port: 0 });
    // A fresh profile each time (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'o2-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await serve?.stop();
    await env?.stack.stop();
  });

  it('shows the run with the counts of its report, failures, masked numbers and the chart; saves a screenshot', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${serve.url}/api/dashboard?code=${KEYS.functionKey}`);
    expect(response?.status()).toBe(200);
    const row = page.locator(`tr[data-run-id="${report.runId}"]`);
    await expect(row.count()).resolves.toBe(1);
    for (const key of ['sourceItems', 'routedItems', 'imported', 'duplicates', 'partial', 'failed', 'unmapped', 'tooLarge', 'invalid', 'itemFailed'] as (keyof ReportCounts)[]) {
      expect([key, Number(await row.locator(`[data-count="${key}"]`).innerText())]).toEqual([key, report.counts[key]]);
    }
    expect(await row.locator('[data-status]').getAttribute('data-status')).toBe(report.status);
    expect(report.counts.invalid).toBe(1);
    expect(Number(await page.locator('[data-total="failures"]').innerText())).toBe(report.failures.length);
    expect(await page.locator(`tr[data-failure-run="${report.runId}"]`).count()).toBe(report.failures.length);
    // The unmapped numbers, masked: no full number anywhere on the page.
    expect(report.unmappedNumbers.length).toBeGreaterThan(0);
    const text = await page.locator('body').innerText();
    for (const { phone } of report.unmappedNumbers) {
      expect(text).not.toContain(phone);
      expect(text).toContain(maskPhone(phone));
    }
    expect(Number(await page.locator('[data-backlog="total"]').innerText())).toBe(report.counts.unmapped);
    expect(await page.locator('svg.chart g[data-day]').count()).toBeGreaterThan(0);
    expect(await page.locator('tr[data-backlog-item]').count()).toBe(report.counts.unmapped);

    const dir = path.join(PROJECT_ROOT, '.local', 'dashboard-test');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(existsSync(file)).toBe(true);

    // In full only with the admin key, on its own route; a function key asking for them is refused.
    const asked = await page.goto(`${serve.url}/api/dashboard?unmask=1&code=${KEYS.functionKey}`);
    expect(asked?.status()).toBe(403);
    const notAdmin = await page.goto(`${serve.url}/api/unmasked/dashboard?code=${KEYS.functionKey}`);
    expect(notAdmin?.status()).toBe(403);
    const admin = await page.goto(`${serve.url}/api/unmasked/dashboard?code=${KEYS.adminKey}`);
    expect(admin?.status()).toBe(200);
    const unmasked = await page.locator('body').innerText();
    for (const { phone } of report.unmappedNumbers) expect(unmasked).toContain(phone);
    // Without a key the page is refused.
    const refused = await page.goto(`${serve.url}/api/dashboard`);
    expect(refused?.status()).toBe(401);
    await page.close();
  });
});

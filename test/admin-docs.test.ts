import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAdminGateway } from './support/admin';
import type { TestGateway } from './support/gateway';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

describe('GET /docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startAdminGateway();
  });
  afterAll(() => gw.stop());

  test('serves Swagger UI from this server with a policy that forbids other origins', async () => {
    const page = await fetch(`${gw.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    for (const asset of ['/docs/swagger-ui-bundle.js', '/docs/swagger-ui.css', '/docs/init.js']) {
      const res = await fetch(`${gw.url}${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10);
    }
    expect((await fetch(`${gw.url}/docs/package.json`)).status).toBe(404);
    expect((await fetch(`${gw.url}/docs/..%2Fpackage.json`)).status).toBe(404);
  });

  describe.skipIf(!hasChromium)(`in a browser${hasChromium ? '' : ` (skipped: ${CHROMIUM} is missing; apt-get install -y chromium)`}`, () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    });
    afterAll(() => browser?.close());

    test('renders every admin operation, fetching nothing from outside', { timeout: 60_000 }, async () => {
      const spec = await (await fetch(`${gw.url}/openapi.json`)).json();
      const adminOps = Object.entries<Record<string, unknown>>(spec.paths)
        .filter(([path]) => path.startsWith('/admin/v1/'))
        .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
      const page = await browser.newPage();
      const elsewhere: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(gw.url) || url.startsWith('data:')) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${gw.url}/docs`);
      await page.waitForSelector('.opblock-summary', { timeout: 30_000 });
      const rendered = await page.$$eval('.opblock-summary', (blocks) =>
        blocks.map((b) => `${b.querySelector('.opblock-summary-method')?.textContent?.trim()} ${b.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`),
      );
      for (const op of adminOps) expect(rendered, op).toContain(op);
      expect(await page.locator('.btn.authorize').count()).toBeGreaterThan(0);
      expect(await page.locator('.info .title').innerText()).toContain('Tollgate');
      expect(elsewhere).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });
  });
});

// Stats: charts (inline SVG) with the numbers beside them, grouped by a
// chosen field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, launch, newPage, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('stats charts and numbers, grouped by model then tenant', async () => {
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/stats?since=1h&by=model`);
  for (const id of ['chart-latency', 'chart-errors', 'chart-tokens', 'chart-cost', 'group-count', 'group-p95', 'group-errors', 'group-cost']) {
    assert.equal(await page.locator(`#${id} svg`).count(), 1, `chart ${id} missing`);
  }
  // Latency: three lines, each with at least one point and a tooltip.
  for (const p of ['p50', 'p95', 'p99']) {
    // One polyline per run of consecutive buckets with data (gaps split it).
    assert.ok(await page.locator(`#chart-latency polyline.${p}`).count() >= 1, `no ${p} line`);
    assert.match(await page.locator(`#chart-latency circle.${p} title`).first().textContent(), new RegExp(`${p}: [\\d.]+ (ms|s)`));
  }
  // The total in the summary equals the sum of the time table.
  const total = Number((await page.textContent('#stats-summary b')).replace(/,/g, ''));
  const perBucket = await page.$$eval('#chart-latency .numbers tbody tr td:nth-child(2)', (tds) => tds.map((t) => Number(t.textContent.replace(/,/g, ''))));
  assert.ok(total >= 60, `only ${total} traces in the last hour`);
  assert.equal(perBucket.reduce((a, b) => a + b, 0), total);
  // Groups: the demo's models, each with a bar and a row of numbers.
  const groups = await page.$$eval('#group-table tbody tr td:first-child', (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(groups.some((g) => g.startsWith('gpt-4.1')), `groups ${groups}`);
  assert.equal(await page.locator('#group-count g.group-bar').count(), Math.min(groups.length, 20));
  await screenshot(page, 'stats');

  await page.selectOption('#by', 'tenant');
  await Promise.all([page.waitForURL(/by=tenant/), page.click('#stats-form button')]);
  const tenants = await page.$$eval('#group-table tbody tr td:first-child', (tds) => tds.map((t) => t.textContent.trim()));
  assert.ok(tenants.some((g) => g.startsWith('tenant_')), `tenants ${tenants}`);
  assert.match(await page.textContent('#group-count h2'), /by tenant/);
  await screenshot(page, 'stats-by-tenant');
  assert.deepEqual(page.problems(), []);
});

test('a bad group field is reported, not a blank page', async () => {
  const page = await newPage(browser);
  const res = await page.goto(`${baseURL()}/stats?by=duration`);
  assert.equal(res.status(), 400);
  assert.match(await page.textContent('.filter-error'), /cannot group by duration/);
  // The browser reports the document's intended 400 as a console error.
  assert.deepEqual(page.problems().filter((p) => !p.includes('400 (Bad Request)')), []);
});

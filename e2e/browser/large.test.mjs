// Large traces (issue #5): a 100,000-span trace is interactive in under 2 s
// from navigation (virtualized rows, details loaded lazily). The figure is
// recorded in results/ui-bench.json as trace_100k_interactive_ms.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, env, launch, newPage, recordBench, screenshot } from './lib.mjs';

const BUDGET_MS = 2000;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// interactive loads the large trace and returns the milliseconds from
// navigation until a row was clicked and its selection and details shown.
async function interactive(page, url) {
  const t0 = Date.now();
  await page.goto(url, { waitUntil: 'commit' });
  const row = page.locator('.wf-row:not([hidden])').nth(3);
  await row.click();
  await page.waitForSelector('.wf-row.selected');
  await page.waitForSelector('.detail .detail-section'); // the span's details arrived
  return Date.now() - t0;
}

test('100k-span trace is interactive within budget', async () => {
  const page = await newPage(browser);
  const id = env('LOUPE_LARGE_TRACE');
  const spans = Number(env('LOUPE_LARGE_SPANS'));
  const url = `${baseURL()}/traces/${id}`;
  // A warm-up visit (server caches, the static files), then the measured ones.
  await interactive(page, url);
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await interactive(page, url));
  runs.sort((a, b) => a - b);
  const median = runs[1];

  // Virtualized: the DOM holds a screenful of rows, not 100,000.
  const rows = await page.locator('.wf-row').count();
  assert.ok(rows < 200, `want a virtualized waterfall, found ${rows} row elements`);
  const height = await page.locator('#wf-spacer').evaluate((e) => e.getBoundingClientRect().height);
  assert.equal(Math.round(height / 24), spans, 'the scroll area holds every span');
  recordBench({ trace_100k_interactive_ms: median, trace_100k_interactive_runs_ms: runs, trace_100k_row_elements: rows,
    trace_100k_server_race: process.env.LOUPE_SERVER_RACE === 'true' });
  await screenshot(page, 'trace-100k');

  // Scrolling to the end and keyboard navigation stay responsive.
  const t1 = Date.now();
  await page.locator('#wf-scroll').focus();
  await page.keyboard.press('End');
  await page.waitForFunction(() => document.querySelector('.wf-row.selected')?.dataset.i !== undefined);
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  const endMs = Date.now() - t1;
  assert.ok(endMs < 1000, `End + ArrowUp + Enter took ${endMs} ms`);
  await screenshot(page, 'trace-100k-end');

  // A failing span deep in the trace opens by link, centred and selected.
  const err = env('LOUPE_LARGE_ERROR_SPAN');
  await page.goto(`${url}?span=${err}`);
  await page.waitForSelector(`.wf-row.selected[data-span-id="${err}"]`);
  await page.waitForSelector('.detail .error-box');
  assert.match(await page.locator('.detail .error-type').textContent(), /NOT_FOUND/);
  await screenshot(page, 'trace-100k-error-span');
  assert.deepEqual(page.problems(), []);

  // The budget: asserted on a server built without -race (the race
  // detector slows the server several times; its figure is still recorded).
  const budget = process.env.LOUPE_SERVER_RACE === 'true' ? BUDGET_MS * 3 : BUDGET_MS;
  assert.ok(median < budget, `100k-span trace interactive in ${median} ms (runs ${runs}), budget ${budget} ms`);
  await page.close();
});

// Trace view: the reference trace's waterfall, the failing tool span's
// error in the detail panel, keyboard navigation and the ?span= URL state.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, env, launch, newPage, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const rowByName = (page, name) => page.locator('.wf-row:not([hidden])', { has: page.locator('.label', { hasText: name }) }).first();
const selectedName = (page) => page.locator('.wf-row.selected .label').textContent();

test('reference trace: header, waterfall, failing tool span', async () => {
  const page = await newPage(browser);
  const id = env('LOUPE_REF_TRACE');
  const resp = await page.goto(`${baseURL()}/traces/${id}`);
  assert.equal(resp.status(), 200);
  assert.match(resp.headers()['content-security-policy'], /script-src 'self'/);

  // Header: degraded, latency, model, tenant, session link.
  assert.equal((await page.locator('#trace-status').textContent()).trim(), 'degraded');
  const facts = await page.locator('.trace-facts').textContent();
  for (const want of ['latency', 'tokens', 'cost', 'prompt', 'model', 'tenant', 'session']) {
    assert.ok(facts.includes(want), `header lacks ${want}: ${facts}`);
  }
  const session = env('LOUPE_REF_SESSION');
  assert.equal(await page.locator('.trace-facts a').getAttribute('href'), `/sessions/${encodeURIComponent(session)}`);

  // Waterfall: every span has a row; the tool failure is marked.
  await page.waitForSelector('body[data-trace-ready]');
  const rows = await page.locator('.wf-row:not([hidden])').count();
  assert.ok(rows >= 8, `want the reference trace's spans as rows, got ${rows}`);
  const tool = rowByName(page, 'tool.call.create_refund');
  assert.match(await tool.getAttribute('class'), /\bfailed\b/);
  assert.match(await tool.locator('.err').textContent(), /INVALID_ARGUMENT/);
  assert.equal(await tool.locator('.wf-bar.bar-error').count(), 1);

  // Select it: the detail panel shows the error prominently.
  await tool.click();
  await page.waitForSelector('.detail .error-box');
  assert.equal((await page.locator('.detail .error-type').textContent()).trim(), 'INVALID_ARGUMENT');
  assert.match(await page.locator('.detail .error-message').textContent(), /refund_amount_cents must be <= order_total_cents/);
  assert.match(await page.locator('.detail').textContent(), /Tool arguments/);
  const spanId = await tool.getAttribute('data-span-id');
  assert.equal(new URL(page.url()).searchParams.get('span'), spanId);
  await screenshot(page, 'trace-reference-tool-error');

  // A model call shows its messages with roles.
  await rowByName(page, 'llm.call.plan_response').click();
  await page.waitForSelector('.detail .msg .role');
  assert.match(await page.locator('.detail').textContent(), /Input messages/);
  await screenshot(page, 'trace-reference-llm');
  assert.deepEqual(page.problems(), []);
  await page.close();
});

test('reference trace: keyboard navigation and ?span= deep link', async () => {
  const page = await newPage(browser);
  const id = env('LOUPE_REF_TRACE');
  await page.goto(`${baseURL()}/traces/${id}`);
  await page.waitForSelector('body[data-trace-ready]');
  const root = page.locator('.wf-row:not([hidden])').first();
  await root.click();
  const rootName = await selectedName(page);
  const visibleBefore = await page.locator('.wf-row:not([hidden])').count();

  await page.keyboard.press('ArrowDown');
  const second = await selectedName(page);
  assert.notEqual(second, rootName, 'ArrowDown moves the selection');
  await page.keyboard.press('ArrowDown');
  assert.notEqual(await selectedName(page), second);
  await page.keyboard.press('ArrowUp');
  assert.equal(await selectedName(page), second, 'ArrowUp moves back');
  await page.keyboard.press('Home');
  assert.equal(await selectedName(page), rootName);

  // Enter collapses the root: only it remains; Enter again expands.
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('.wf-row:not([hidden])').count(), 1);
  assert.equal(await page.locator('.wf-row.selected').getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('.wf-row:not([hidden])').count(), visibleBefore);
  // Left collapses, Right expands.
  await page.keyboard.press('ArrowLeft');
  assert.equal(await page.locator('.wf-row:not([hidden])').count(), 1);
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('.wf-row:not([hidden])').count(), visibleBefore);
  await page.waitForSelector('.detail .detail-name');
  await screenshot(page, 'trace-reference-keyboard');

  // The URL keeps the selection: reloading it selects the same span.
  const tool = rowByName(page, 'tool.call.create_refund');
  const spanId = await tool.getAttribute('data-span-id');
  await page.goto(`${baseURL()}/traces/${id}?span=${spanId}`);
  await page.waitForSelector('.wf-row.selected');
  assert.equal(await page.locator('.wf-row.selected').getAttribute('data-span-id'), spanId);
  await page.waitForSelector('.detail .error-box');
  assert.deepEqual(page.problems(), []);
  await page.close();
});

test('unknown and malformed trace ids', async () => {
  const page = await newPage(browser);
  let resp = await page.goto(`${baseURL()}/traces/${'0'.repeat(31)}1`);
  assert.equal(resp.status(), 404);
  resp = await page.goto(`${baseURL()}/traces/not-a-trace`);
  assert.equal(resp.status(), 400);
  await page.close();
});

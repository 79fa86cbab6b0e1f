// Hostile values (the driver's XSS trace) render as inert text in the
// traces list (server-rendered and live rows), quick filters, sessions and
// stats charts, labels and tooltips.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, env, inertFindings, launch, newPage, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const SCRIPT = '<script>window.__xss=1</script>';
const IMG = '<img src=x onerror="window.__xss=2">';

async function assertInert(page, where) {
  // Give any injected handler a chance to run before looking.
  await page.waitForTimeout(200);
  assert.deepEqual(await inertFindings(page), [], `${where}: hostile data became active`);
  assert.deepEqual(page.problems(), [], `${where}: page errors`);
}

test('list: hostile name, tenant, prompt version shown as text', async () => {
  const page = await newPage(browser);
  const id = env('LOUPE_XSS_TRACE');
  const mark = env('LOUPE_XSS_MARK');
  await page.goto(`${baseURL()}/?since=1h&q=${encodeURIComponent(`trace.id = "${id}"`)}`);
  const row = page.locator(`#trace-rows tr[data-id="${id}"]`);
  await row.waitFor();
  assert.equal(await row.locator('td.name').textContent(), `${SCRIPT}request ${mark}`);
  assert.equal(await row.locator('td:nth-child(8)').textContent(), `${SCRIPT}${mark}`);
  assert.equal(await row.locator('td:nth-child(10)').textContent(), `${IMG}${mark}`);
  // Quick filters offer the hostile values as option text.
  const tenants = await page.$$eval('select[name=tenant] option', (os) => os.map((o) => o.textContent));
  assert.ok(tenants.some((t) => t.startsWith(IMG + mark)), `tenant options ${tenants}`);
  await screenshot(page, 'xss-list');
  await assertInert(page, 'list');
  // Choosing the hostile quick filter finds the trace (the value round-trips).
  await Promise.all([page.waitForURL(/tenant=/), page.selectOption('select[name=tenant]', `${IMG}${mark}`)]);
  await page.locator(`#trace-rows tr[data-id="${id}"]`).waitFor();
  await assertInert(page, 'list with hostile quick filter');
});

test('list: live rows built by script are inert', async () => {
  const page = await newPage(browser);
  const id = env('LOUPE_XSS_TRACE');
  // The real API's summary of the hostile trace, as live mode would fetch it.
  const api = await fetch(`${baseURL()}/api/v1/traces?since=1h&q=${encodeURIComponent(`trace.id = "${id}"`)}`);
  assert.equal(api.status, 200);
  const body = await api.text();
  assert.ok(body.includes(id), 'API does not return the hostile trace');
  // Open a live list whose first render lacks the trace (no match), and
  // answer its polls with the hostile summary: list.js builds the row.
  await page.route((u) => u.pathname === '/api/v1/traces', (route) =>
    route.fulfill({ status: 200, contentType: 'application/json', body }));
  await page.goto(`${baseURL()}/?since=1h&live=1&q=${encodeURIComponent('trace.id = "00000000000000000000000000000001"')}`);
  assert.equal(await page.locator(`#trace-rows tr[data-id="${id}"]`).count(), 0);
  const row = page.locator(`#trace-rows tr.fresh[data-id="${id}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('td.name').textContent(), `${SCRIPT}request ${env('LOUPE_XSS_MARK')}`);
  assert.equal(await row.locator('td:nth-child(10)').textContent(), `${IMG}${env('LOUPE_XSS_MARK')}`);
  await screenshot(page, 'xss-list-live');
  await assertInert(page, 'live list');
});

test('stats: hostile group values in chart labels and tooltips', async () => {
  const page = await newPage(browser);
  const mark = env('LOUPE_XSS_MARK');
  for (const by of ['tenant', 'prompt.version_id', 'environment', 'route']) {
    await page.goto(`${baseURL()}/stats?since=1h&by=${by}`);
    const titles = await page.$$eval('#group-count g.group-bar title', (ts) => ts.map((t) => t.textContent));
    const labels = await page.$$eval('#group-count g.group-bar text', (ts) => ts.map((t) => t.textContent));
    const cells = await page.$$eval('#group-table tbody td:first-child', (ts) => ts.map((t) => t.textContent));
    const expect = { tenant: IMG + mark, 'prompt.version_id': SCRIPT + mark, environment: '<script>window.__xss=1</script>prod', route: 'javascript:alert(1)' }[by];
    assert.ok(titles.some((t) => t.startsWith(expect + ':')), `${by}: tooltips ${JSON.stringify(titles)}`);
    assert.ok(labels.some((t) => expect.startsWith(t.replace(/…$/, ''))), `${by}: labels ${JSON.stringify(labels)}`);
    assert.ok(cells.some((t) => t === expect), `${by}: table ${JSON.stringify(cells)}`);
    await assertInert(page, `stats by ${by}`);
  }
  await screenshot(page, 'xss-stats');
});

test('sessions: hostile session id and messages', async () => {
  const page = await newPage(browser);
  const session = env('LOUPE_XSS_SESSION');
  await page.goto(`${baseURL()}/sessions?since=1h`);
  const link = page.locator('#sessions a', { hasText: env('LOUPE_XSS_MARK') });
  assert.equal(await link.textContent(), session);
  await assertInert(page, 'sessions');
  await Promise.all([page.waitForURL(/\/sessions\/sess-/), link.click()]);
  assert.equal(await page.textContent('h1 .mono'), session);
  const turn = page.locator(`#conversation li.turn[data-id="${env('LOUPE_XSS_TRACE')}"]`);
  await turn.waitFor();
  const texts = await turn.locator('pre').allTextContents();
  assert.ok(texts.some((t) => t.includes(SCRIPT) || t.includes(IMG)), `messages ${JSON.stringify(texts)}`);
  await screenshot(page, 'xss-session');
  await assertInert(page, 'session');
});

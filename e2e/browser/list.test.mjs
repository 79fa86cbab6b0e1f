// Traces list (/): first paint, filter search, filter errors with their
// position, quick filters, cursor paging, live mode, opening a trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { baseURL, env, launch, newPage, recordBench, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// problemsBut returns the page's problems other than the browser's report
// of the document's own (intended) 400 status.
function problemsBut400(page) {
  return page.problems().filter((p) => !/Failed to load resource: .* 400 \(Bad Request\) \(http:\/\/[^/]+\/\?/.test(p));
}

// rows returns the list's rows as {id, status, name}.
async function rows(page) {
  return page.$$eval('#trace-rows tr[data-id]', (trs) => trs.map((tr) => ({
    id: tr.dataset.id,
    status: tr.querySelector('.badge')?.textContent.trim(),
    name: tr.querySelector('td.name')?.textContent.trim(),
  })));
}

test('first contentful paint of the list (recorded)', async () => {
  const page = await newPage(browser);
  // Warm the server's caches once; measure the second, as a user returning.
  await page.goto(`${baseURL()}/`);
  const runs = [];
  for (let i = 0; i < 5; i++) {
    await page.goto(`${baseURL()}/?since=1h&r=${i}`);
    await page.waitForSelector('#traces');
    // The paint entry is recorded after the frame is painted, which can
    // come after the element exists (seen once on a loaded CI machine).
    await page.waitForFunction(() => performance.getEntriesByType('paint')
      .some((p) => p.name === 'first-contentful-paint'), null, { timeout: 15000 });
    const fcp = await page.evaluate(() => {
      const e = performance.getEntriesByType('paint').find((p) => p.name === 'first-contentful-paint');
      return e ? e.startTime : null;
    });
    assert.ok(fcp !== null, 'no first-contentful-paint entry');
    runs.push(fcp);
  }
  runs.sort((a, b) => a - b);
  const median = runs[Math.floor(runs.length / 2)];
  recordBench({ list_first_contentful_paint_ms: Math.round(median * 10) / 10,
    list_first_contentful_paint_runs_ms: runs.map((r) => Math.round(r * 10) / 10),
    list_server_race: process.env.LOUPE_SERVER_RACE === 'true' });
  // Target (DESIGN.md §7) is 300 ms; the figure is recorded for the lead.
  // The test only guards against a broken page (e.g. a blocking script).
  assert.ok(median < 3000, `first contentful paint ${median} ms`);
  assert.ok((await rows(page)).length > 0, 'no traces listed');
  await screenshot(page, 'list');
  assert.deepEqual(page.problems(), []);
});

test('search with a filter', async () => {
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/?since=1h`);
  await page.fill('#q', 'kind = tool and status = error');
  await Promise.all([page.waitForURL(/q=kind/), page.press('#q', 'Enter')]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('q'), 'kind = tool and status = error');
  assert.equal(url.searchParams.get('since'), '1h');
  const got = await rows(page);
  assert.ok(got.length > 0, 'no failing tool traces found');
  for (const r of got) assert.notEqual(r.status, 'ok', `trace ${r.id} with a failing tool span is ok`);
  assert.ok(got.some((r) => r.id === env('LOUPE_REF_TRACE')), 'the reference (refund-degraded) trace is not listed');
  // The box keeps the filter (the URL holds the whole state).
  assert.equal(await page.inputValue('#q'), 'kind = tool and status = error');
  await screenshot(page, 'list-filtered');
  assert.deepEqual(page.problems(), []);
});

test('a filter error is shown at its position', async () => {
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/?since=1h`);
  await page.fill('#q', 'kind = tool and status = err');
  await Promise.all([page.waitForURL(/q=kind/), page.press('#q', 'Enter')]);
  const box = page.locator('#filter-error');
  await box.waitFor();
  assert.match(await box.locator('.message').textContent(), /position 25: .*err/);
  assert.equal(await box.locator('mark').textContent(), 'err');
  const caret = (await box.locator('code').textContent()).split('\n')[1];
  assert.equal(caret, ' '.repeat(25) + '^');
  assert.equal(await page.inputValue('#q'), 'kind = tool and status = err');
  await screenshot(page, 'list-filter-error');
  assert.deepEqual(problemsBut400(page), []);
});

test('quick filter: status', async () => {
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/?since=1h`);
  await Promise.all([page.waitForURL(/status=degraded/), page.selectOption('select[name=status]', 'degraded')]);
  const got = await rows(page);
  assert.ok(got.length > 0, 'no degraded traces');
  for (const r of got) assert.equal(r.status, 'degraded');
  // Quick filters offer the values seen in the time range.
  const models = await page.$$eval('select[name=model] option', (os) => os.map((o) => o.value).filter(Boolean));
  assert.ok(models.length > 0, 'no model choices');
  await screenshot(page, 'list-quick-filter');
  assert.deepEqual(page.problems(), []);
});

test('cursor paging keeps the state', async () => {
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/?since=1h&q=${encodeURIComponent('service ~ "*"')}`);
  const first = await rows(page);
  assert.equal(first.length, 50, 'first page is not full; the driver sends more than 50 traces');
  await Promise.all([page.waitForURL(/cursor=/), page.click('#next-page')]);
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('q'), 'service ~ "*"');
  assert.equal(url.searchParams.get('since'), '1h');
  const second = await rows(page);
  assert.ok(second.length > 0, 'second page is empty');
  const seen = new Set(first.map((r) => r.id));
  for (const r of second) assert.ok(!seen.has(r.id), `trace ${r.id} on both pages`);
  await Promise.all([page.waitForURL((u) => !u.searchParams.has('cursor')), page.click('#first-page')]);
  assert.deepEqual((await rows(page)).map((r) => r.id), first.map((r) => r.id));
  assert.deepEqual(page.problems(), []);
});

// otlpJSON is a one-span trace in OTLP/JSON.
function otlpJSON(traceId, name) {
  const now = BigInt(Date.now()) * 1000000n;
  return {
    resourceSpans: [{
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'live-test' } }] },
      scopeSpans: [{ spans: [{
        traceId, spanId: randomBytes(8).toString('hex'), name, kind: 2,
        startTimeUnixNano: String(now - 3000000n), endTimeUnixNano: String(now), status: { code: 1 },
      }] }],
    }],
  };
}

test('live mode shows new traces as they arrive', async () => {
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/?since=1h`);
  await Promise.all([page.waitForURL(/live=1/), page.click('#live-toggle')]);
  await page.locator('#live-status.on').waitFor();
  const traceId = randomBytes(16).toString('hex');
  const res = await fetch(`${baseURL()}/v1/traces`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(otlpJSON(traceId, 'live.arrival <b>not bold</b>')),
  });
  assert.equal(res.status, 200, await res.text());
  const row = page.locator(`#trace-rows tr[data-id="${traceId}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('td.name').textContent(), 'live.arrival <b>not bold</b>');
  assert.equal(await row.locator('td.name a').getAttribute('href'), `/traces/${traceId}`);
  // Newest first: the new trace is the first row.
  assert.equal(await page.$eval('#trace-rows tr', (tr) => tr.dataset.id), traceId);
  assert.equal(await page.locator('#trace-rows b').count(), 0, 'data became markup');
  assert.match(await page.textContent('#live-status'), /live: updated/);
  await screenshot(page, 'list-live');
  // Turning live mode off keeps the rest of the state.
  await Promise.all([page.waitForURL((u) => !u.searchParams.has('live')), page.click('#live-toggle')]);
  assert.equal(new URL(page.url()).searchParams.get('since'), '1h');
  assert.deepEqual(page.problems(), []);
});

test('a row opens the trace view', async () => {
  const page = await newPage(browser);
  const ref = env('LOUPE_REF_TRACE');
  await page.goto(`${baseURL()}/?since=1h&q=${encodeURIComponent(`trace.id = "${ref}"`)}`);
  await Promise.all([page.waitForURL(new RegExp(`/traces/${ref}$`)), page.click(`#trace-rows tr[data-id="${ref}"] td.name a`)]);
  // The trace view itself is trace.test.mjs's subject.
});

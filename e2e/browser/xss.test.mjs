// Hostile data in the trace view: span names, attributes, status message,
// messages, tool arguments, events and header fields hold <script>, <img
// onerror>, javascript: URLs, HTML and ANSI escapes. All of it must render
// as inert, visible text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, env, inertFindings, launch, newPage, screenshot } from './lib.mjs';

const SCRIPT = '<script>window.__xss=1</script>';
const IMG = '<img src=x onerror="window.__xss=2">';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('positive control: inertFindings catches markup made from data', async () => {
  // The same checks on a page that does interpret the data must fail, or
  // the test below could not catch anything.
  const page = await newPage(browser);
  await page.goto(`${baseURL()}/healthz`);
  await page.evaluate(({ img }) => {
    const d = document.createElement('div');
    d.innerHTML = img + '<a href="javascript:alert(1)">x</a>'; // what the UI must never do
    document.body.append(d);
  }, { img: IMG });
  await page.waitForFunction(() => window.__xss === 2);
  const found = await inertFindings(page);
  assert.ok(found.some((f) => f.startsWith('window.__xss')), found.join('; '));
  assert.ok(found.some((f) => f.startsWith('<img')), found.join('; '));
  assert.ok(found.some((f) => f.startsWith('<a href=javascript:')), found.join('; '));
  await page.close();
});

test('hostile trace renders as inert text in header, waterfall and details', async () => {
  const page = await newPage(browser);
  const id = env('LOUPE_XSS_TRACE');
  const mark = env('LOUPE_XSS_MARK');
  const resp = await page.goto(`${baseURL()}/traces/${id}`);
  assert.equal(resp.status(), 200);
  await page.waitForSelector('body[data-trace-ready]');

  // Header: the literal text is shown.
  assert.equal(await page.locator('.trace-name').textContent(), `${SCRIPT}request ${mark}`);
  const facts = await page.locator('.trace-facts').textContent();
  assert.ok(facts.includes(`${IMG}${mark}`), `tenant shown as text: ${facts}`);
  assert.ok(facts.includes(`${SCRIPT}${mark}`), `prompt version shown as text: ${facts}`);
  const sessionHref = await page.locator('.trace-facts a').getAttribute('href');
  assert.ok(sessionHref.startsWith('/sessions/') && !/[<>"]/.test(sessionHref), sessionHref);
  assert.equal(decodeURIComponent(sessionHref.slice('/sessions/'.length)), env('LOUPE_XSS_SESSION'));

  // Waterfall rows show the names literally.
  const labels = await page.locator('.wf-row:not([hidden]) .label').allTextContents();
  assert.ok(labels.includes(`${SCRIPT}request ${mark}`), labels.join(' | '));
  assert.ok(labels.includes(`chat ${IMG}${mark}`), labels.join(' | '));

  // Every span's details: root (attributes), model call (messages, tool
  // calls), failing tool (status message, error type, arguments, events).
  for (let i = 0; i < 3; i++) {
    await page.locator('.wf-row:not([hidden])').nth(i).click();
    await page.waitForSelector('.detail .detail-section');
    const text = await page.locator('.detail').textContent();
    assert.ok(text.includes(mark), `span ${i} details lack the literal values`);
    await screenshot(page, `xss-trace-span-${i}`);
  }
  const detail = await page.locator('.detail').textContent();
  assert.equal((await page.locator('.detail .error-type').textContent()), `${IMG}${mark}`);
  assert.ok(detail.includes(SCRIPT) && detail.includes('javascript:alert(1)'), 'script and URL shown as text');

  // ANSI escapes are shown escaped, never raw.
  await page.locator('.wf-row:not([hidden])').first().click();
  await page.waitForSelector('.detail .detail-section');
  const root = await page.locator('.detail').textContent();
  assert.ok(root.includes('\\x1b[31mRED\\x1b[0m'), 'ESC shown as \\x1b');
  assert.ok(!root.includes('\x1b'), 'no raw ESC in the page');
  assert.ok(root.includes('<b>bold</b>'), 'HTML shown as text');
  assert.equal(await page.locator('.detail b').count(), 0);

  assert.deepEqual(await inertFindings(page), []);
  const title = await page.title();
  assert.ok(title.includes(SCRIPT), `title ${title}`);
  assert.deepEqual(page.problems(), []);
  await page.close();
});

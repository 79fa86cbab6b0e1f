// Sessions: the list links the reference trace's session; a session shows
// its traces in order as a conversation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, env, launch, newPage, screenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('sessions list links to a session conversation', async () => {
  const page = await newPage(browser);
  const session = env('LOUPE_REF_SESSION');
  await page.goto(`${baseURL()}/sessions?since=1h`);
  const row = page.locator(`#sessions tr[data-session="${session}"]`);
  await row.waitFor();
  const count = Number((await row.locator('td:nth-child(2)').textContent()).replace(/,/g, ''));
  assert.ok(count >= 1, `session ${session} has ${count} traces`);
  await screenshot(page, 'sessions');
  await Promise.all([page.waitForURL(new RegExp(`/sessions/${session}`)), row.locator('a').click()]);

  assert.equal(await page.textContent('h1 .mono'), session);
  const turns = page.locator('#conversation li.turn');
  assert.equal(await turns.count(), count);
  // The reference trace is one of the turns, with its status and a link.
  const ref = page.locator(`#conversation li.turn[data-id="${env('LOUPE_REF_TRACE')}"]`);
  await ref.waitFor();
  assert.equal((await ref.locator('.badge').textContent()).trim(), 'degraded');
  assert.equal(await ref.locator('header a').getAttribute('href'), `/traces/${env('LOUPE_REF_TRACE')}`);
  // The local server runs as admin: payloads are shown, user and answer.
  const user = (await ref.locator('.msg.user pre').textContent()).trim();
  assert.ok(user.length > 0, 'no user input');
  const answer = (await ref.locator('.msg.assistant pre').textContent()).trim();
  assert.ok(answer.length > 0, 'no answer');
  // Turns are in start order.
  const times = await page.$$eval('#conversation li.turn header .mono', (els) => els.map((e) => e.getAttribute('title')));
  assert.deepEqual(times, [...times].sort());
  await screenshot(page, 'session');
  assert.deepEqual(page.problems(), []);
});

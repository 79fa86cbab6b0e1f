// The harness itself: chromium starts and reaches the server under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { baseURL, launch, newPage } from './lib.mjs';

test('chromium reaches loupe serve', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    const resp = await page.goto(`${baseURL()}/healthz`);
    assert.equal(resp.status(), 200);
    assert.equal((await page.textContent('body')).trim(), 'ok');
    assert.deepEqual(page.problems(), []);
  } finally {
    await browser.close();
  }
});

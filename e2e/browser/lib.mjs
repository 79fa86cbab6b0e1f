// Shared helpers of the browser tests: launch Debian's chromium through
// playwright-core, open pages that fail the test on any page error or CSP
// violation, save screenshots for review, and merge benchmark figures into
// results/ui-bench.json.
//
// The tests are run by cmd/loupe/browser_test.go, which starts a real
// `loupe serve`, ingests data and passes it in the environment:
//   LOUPE_URL               base URL of the server (http://127.0.0.1:PORT)
//   LOUPE_REF_TRACE         a demo trace of the refund-degraded scenario
//                           (the reference trace of DESIGN.md §1)
//   LOUPE_REF_SESSION       that trace's session id
//   LOUPE_LARGE_TRACE       a trace of LOUPE_LARGE_SPANS spans (100,000)
//   LOUPE_XSS_TRACE         a trace whose names, attributes and payloads are hostile
//   LOUPE_XSS_SESSION       its session id (also hostile-looking, but a valid value)
//   LOUPE_XSS_MARK          a literal string present in the hostile values
//   LOUPE_CHROMIUM          chromium executable (default /usr/bin/chromium)

import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** Directory of the screenshots (gitignored). */
export const screenshotDir = join(here, 'screenshots');
/** File of the benchmark figures the tests measure (gitignored). */
export const benchFile = join(here, 'results', 'ui-bench.json');

/**
 * env returns the environment variable name, failing loudly when it is
 * missing: the tests are meaningless without the server and data the Go
 * driver sets up.
 */
export function env(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: run the browser tests through "go test ./cmd/loupe -run TestBrowser" (cmd/loupe/browser_test.go)`);
  }
  return v;
}

/** baseURL is the server under test. */
export function baseURL() {
  return env('LOUPE_URL').replace(/\/$/, '');
}

/**
 * launch starts a fresh headless chromium (own user-data dir, no network
 * services of its own). Close it with close().
 */
export async function launch() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'loupe-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.LOUPE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * newPage opens a page that records every uncaught page error, console
 * error and CSP violation; call problems() at the end of a test and assert
 * it is empty.
 */
export async function newPage(browser) {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // The browser asks for /favicon.ico by itself; its 404 is not the page's.
    if (m.type() === 'error' && !(m.location().url || '').endsWith('/favicon.ico')) {
      errors.push(`console.error: ${m.text()} (${m.location().url || 'page'})`);
    }
  });
  page.problems = () => errors.slice();
  return page;
}

/** screenshot saves a full-page PNG named name.png for review. */
export async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/**
 * recordBench merges figures (an object of key -> number) into
 * results/ui-bench.json, so that several tests can each add theirs.
 */
export function recordBench(figures) {
  mkdirSync(dirname(benchFile), { recursive: true });
  let all = {};
  try {
    all = JSON.parse(readFileSync(benchFile, 'utf8'));
  } catch {
    all = {};
  }
  Object.assign(all, figures, { updated: new Date().toISOString() });
  writeFileSync(benchFile, JSON.stringify(all, null, 2) + '\n');
}

/**
 * assertInert checks the page ran nothing from hostile data: no
 * window.__xss set, and no element made from the data (an <img> or
 * <script> outside the app's own, an anchor with a javascript: URL, an
 * inline event handler attribute). It returns a list of findings (empty
 * when inert).
 */
export async function inertFindings(page) {
  return page.evaluate(() => {
    const found = [];
    if (window.__xss !== undefined) found.push(`window.__xss = ${window.__xss}`);
    for (const img of document.querySelectorAll('img')) found.push(`<img src=${img.getAttribute('src')}>`);
    for (const s of document.querySelectorAll('script')) {
      const src = s.getAttribute('src') || '';
      const type = s.getAttribute('type') || '';
      if (!(src.startsWith('/static/') || type === 'application/json')) found.push(`<script src=${src} type=${type}>`);
    }
    for (const a of document.querySelectorAll('a[href]')) {
      const href = a.getAttribute('href').trim().toLowerCase();
      if (href.startsWith('javascript:') || href.startsWith('data:') || href.startsWith('vbscript:')) found.push(`<a href=${href}>`);
    }
    for (const el of document.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        if (attr.name.startsWith('on')) found.push(`<${el.tagName.toLowerCase()} ${attr.name}=...>`);
      }
    }
    return found;
  });
}

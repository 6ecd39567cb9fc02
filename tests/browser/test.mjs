// A real browser against `signpost serve` (driven by tests/browser/run.sh, which starts the
// servers and checks what was stored):
//  1. the page `signpost presign post --format html` printed, its file input given a file named
//     with spaces and non-ASCII, submitted: 201, and the key is the prefix plus that name;
//  2. from a page of another origin, fetch() PUTs to a presigned URL with a signed Content-Type
//     (a CORS preflight), and reads the ETag header;
//  3. from that page, an XHR POST of a FormData built from a POST descriptor (what uppy's
//     getUploadParameters returns), reading ETag and Location.
// Prints one JSON line of results; exits non-zero when a step fails.

import puppeteer from 'puppeteer-core';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const SERVE = env('SERVE');            // http://127.0.0.1:PORT (signpost serve)
const PAGE = env('PAGE');              // http://127.0.0.1:PORT2 (pages; another origin)
const FORM_FILE = env('FORM_FILE');    // the file the form uploads
const PUT_URL = env('PUT_URL');        // presigned PUT, Content-Type video/mp4 signed
const PUT_DATA = env('PUT_DATA');      // text the fetch() PUT sends
const POST_JOB = JSON.parse(readFileSync(env('POST_JOB'), 'utf8'));
const POST_DATA = env('POST_DATA');    // text the XHR POST sends

const profile = mkdtempSync(join(tmpdir(), 'signpost-chromium-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--user-data-dir=${profile}`,
  ],
});
// The shell script stops the browser by this PID if this script dies before closing it.
if (process.env.CHROMIUM_PID_FILE) {
  writeFileSync(process.env.CHROMIUM_PID_FILE, String(browser.process().pid));
}
const results = {};
let failed = false;
const check = (name, ok, detail) => {
  results[name] = { ok, ...detail };
  if (!ok) failed = true;
};

try {
  // 1. The HTML form, submitted by the browser itself.
  const page = await browser.newPage();
  await page.goto(`${PAGE}/form.html`);
  const input = await page.$('input[type=file]');
  await input.uploadFile(FORM_FILE);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(SERVE) && r.request().method() === 'POST'),
    page.click('input[type=submit]'),
  ]);
  const body = await resp.text();
  const key = (body.match(/<Key>([^<]*)<\/Key>/) || [])[1];
  check('form', resp.status() === 201 && !!key, {
    status: resp.status(), key, etag: resp.headers()['etag'],
  });

  // 2 and 3 run in a page of another origin, so CORS is in play.
  await page.goto(`${PAGE}/blank.html`);
  const put = await page.evaluate(async (url, data) => {
    try {
      const r = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'video/mp4' }, body: data });
      return { status: r.status, etag: r.headers.get('ETag') };
    } catch (e) {
      return { error: String(e) };
    }
  }, PUT_URL, PUT_DATA);
  check('fetch_put', put.status === 200 && !!put.etag, put);

  const post = await page.evaluate(async (job, data) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(job.fields)) form.append(k, v);
    form.append('file', new Blob([data], { type: 'text/plain' }), 'from-xhr.txt');
    return await new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open(job.method, job.url);
      xhr.onload = () => resolve({
        status: xhr.status,
        etag: xhr.getResponseHeader('ETag'),
        location: xhr.getResponseHeader('Location'),
      });
      xhr.onerror = () => resolve({ error: 'network error (CORS?)' });
      xhr.send(form);
    });
  }, POST_JOB, POST_DATA);
  check('xhr_post', [200, 201, 204].includes(post.status) && !!post.etag && !!post.location, post);
} catch (e) {
  check('browser', false, { error: String(e) });
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(results));
process.exit(failed ? 1 : 0);

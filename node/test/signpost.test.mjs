// The Node package against a real `signpost serve` (the workspace's debug binary, or
// SIGNPOST_BIN): presign, upload, read back; URLs equal to the Rust presigner's and accepted by
// `signpost verify`; errors with their codes; an aborted upload resumed. `node --test test/`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, readdirSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const signpost = require('../index.js');
const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SIGNPOST_BIN || join(here, '..', '..', 'target', 'debug', 'signpost');
const ACCESS = 'nodetestaccesskey';
const SECRET = 'node/secret+key/0123456789';
const BUCKET = 'node-bucket';
const MIB = 1 << 20;
let server;
let endpoint;
let data;
const work = mkdtempSync(join(tmpdir(), 'signpost-node-'));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function env() {
  return {
    PATH: process.env.PATH,
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: ACCESS,
    AWS_SECRET_ACCESS_KEY: SECRET,
    SIGNPOST_LOG: 'off',
  };
}

before(async () => {
  assert.ok(existsSync(BIN), `no signpost binary at ${BIN}: cargo build -p signpost, or set SIGNPOST_BIN`);
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  data = mkdtempSync(join(tmpdir(), 'signpost-node-data-'));
  server = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--data', data, '--bucket', BUCKET], {
    env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: ACCESS, AWS_SECRET_ACCESS_KEY: SECRET, SIGNPOST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await fetch(`${endpoint}/healthz`);
      if (r.ok) break;
    } catch {}
    assert.ok(Date.now() < deadline && server.exitCode === null, 'signpost serve did not become healthy within 30 s');
    await new Promise((r) => setTimeout(r, 20));
  }
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(data, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const presigner = () =>
  new signpost.Presigner({ endpoint, region: 'us-east-1', credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET } });
const key = (name) => `node/${randomUUID()}/${name}`;
function file(name, size) {
  const bytes = randomBytes(size);
  const path = join(work, `${randomUUID()}-${name}`);
  writeFileSync(path, bytes);
  return { path, bytes };
}
async function readBack(p, k) {
  const r = await fetch(p.presignGet({ bucket: BUCKET, key: k }));
  assert.equal(r.status, 200, `GET ${k}`);
  return Buffer.from(await r.arrayBuffer());
}
const sha = (b) => createHash('sha256').update(b).digest('hex');

test('presign PUT, upload, read back', async () => {
  const p = presigner();
  const k = key('out.mp4');
  const job = p.presignPut({ bucket: BUCKET, key: k, expiresIn: 600, contentType: 'video/mp4' });
  assert.deepEqual(Object.keys(job), ['url', 'method', 'headers', 'expectedStatusCodes']);
  assert.deepEqual(job.headers, { 'Content-Type': 'video/mp4' });
  assert.ok(!JSON.stringify(job).includes(SECRET));
  const f = file('out.mp4', 3 * MIB + 5);
  const out = await signpost.upload(job, f.path);
  assert.equal(out.bytes, f.bytes.length);
  assert.ok([200, 201, 204].includes(out.status));
  assert.equal(sha(await readBack(p, k)), sha(f.bytes));
});

test('POST form and multipart with progress', async () => {
  const p = presigner();
  const prefix = `${key('form')}/`;
  const form = p.presignPost({ bucket: BUCKET, keyPrefix: prefix, maxSize: 10 * MIB, successStatus: 201 });
  assert.equal(form.method, 'POST');
  assert.equal(Object.keys(form.fields)[0], 'key');
  const small = file('clip.mp4', MIB);
  const posted = await signpost.upload(form, small.path, { fileName: 'clip.mp4' });
  assert.equal(posted.status, 201);
  assert.equal(posted.key, `${prefix}clip.mp4`);
  assert.equal(sha(await readBack(p, `${prefix}clip.mp4`)), sha(small.bytes));

  const k = key('big.mp4');
  const uploadId = await p.createMultipartUpload({ bucket: BUCKET, key: k });
  const job = p.presignMultipart({ bucket: BUCKET, key: k, uploadId, maxSize: 20 * MIB, partSize: 5 * MIB });
  assert.equal(job.multipart.parts.length, 4);
  const big = file('big.mp4', 12 * MIB + 1);
  const seen = [];
  const out = await signpost.upload(job, big.path, { onProgress: (pr) => seen.push(pr) });
  assert.equal(out.parts, 3);
  // Progress is delivered on the event loop, after the bytes went out: the last report is the total.
  await new Promise((r) => setImmediate(r));
  assert.ok(seen.length > 0);
  assert.equal(seen.at(-1).bytesSent, big.bytes.length);
  assert.ok(seen.every((s, i) => i === 0 || seen[i - 1].bytesSent <= s.bytesSent), 'progress only grows');
  assert.equal(sha(await readBack(p, k)), sha(big.bytes));
});

test('URLs equal the Rust presigner\'s and signpost verify accepts them', () => {
  const p = presigner();
  const k = key('same.mp4');
  const at = '2026-11-24T12:00:00Z';
  const ours = p.presignPut({ bucket: BUCKET, key: k, expiresIn: 900, signedAt: at, contentType: 'video/mp4' });
  const cli = execFileSync(BIN, ['presign', 'put', '--bucket', BUCKET, '--key', k, '--expires', '900', '--at', at, '--content-type', 'video/mp4'], { env: env(), stdio: ['ignore', 'pipe', 'ignore'] });
  assert.deepEqual(ours, JSON.parse(cli));
  const form = p.presignPost({ bucket: BUCKET, keyPrefix: 'jobs/', expiresIn: 900, signedAt: at, successStatus: 201 });
  const cliForm = JSON.parse(
    execFileSync(BIN, ['presign', 'post', '--bucket', BUCKET, '--key-prefix', 'jobs/', '--expires', '900', '--at', at, '--success-status', '201'], { env: env(), stdio: ['ignore', 'pipe', 'ignore'] }),
  );
  assert.deepEqual(Object.entries(form.fields), Object.entries(cliForm.fields), 'the same fields in the same order');

  const fresh = p.presignPut({ bucket: BUCKET, key: k });
  const jobFile = join(work, `${randomUUID()}.json`);
  writeFileSync(jobFile, JSON.stringify(fresh));
  const verdict = spawnSync(BIN, ['verify', jobFile], { env: env(), encoding: 'utf8' });
  assert.equal(verdict.status, 0, verdict.stdout + verdict.stderr);
  const v = new signpost.Verifier({ region: 'us-east-1', credentials: { accessKeyId: ACCESS, secretAccessKey: SECRET } });
  const host = endpoint.split('://')[1];
  v.verifyPresigned('PUT', fresh.url, { host });
  assert.throws(
    () => v.verifyPresigned('PUT', fresh.url.replace(k, `${k}x`), { host }),
    (e) => e instanceof signpost.VerifyError && e.status === 403 && e.s3Code === 'SignatureDoesNotMatch',
  );
});

test('errors carry their codes', async () => {
  const p = presigner();
  assert.throws(
    () => signpost.parseDescriptor({ url: 'http://h/b/k', methd: 'PUT' }),
    (e) => e instanceof signpost.DescriptorError && e.code === 'invalid-descriptor' && e.message.includes('methd'),
  );
  assert.deepEqual(signpost.parseDescriptor({ url: 'http://h/b/k' }).expectedStatusCodes, [200, 201, 204]);
  assert.throws(
    () => p.presignPut({ bucket: '', key: 'k' }),
    (e) => e instanceof signpost.PresignError && e instanceof signpost.SignpostError && e.code === 'invalid-argument',
  );
  const f = file('f.bin', 1000);
  const old = p.presignPut({ bucket: BUCKET, key: key('old'), expiresIn: 60, signedAt: '2020-01-01T00:00:00Z' });
  await assert.rejects(signpost.upload(old, f.path), (e) => e instanceof signpost.UploadError && e.code === 'expired' && e.needsNewTarget === true);
  const job = p.presignPut({ bucket: BUCKET, key: key('tampered') });
  const at = job.url.lastIndexOf('X-Amz-Signature=') + 'X-Amz-Signature='.length;
  job.url = job.url.slice(0, at) + (job.url[at] === '0' ? '1' : '0') + job.url.slice(at + 1);
  await assert.rejects(
    signpost.upload(job, f.path, { retries: 0 }),
    (e) => e instanceof signpost.UploadError && e.status === 403 && e.s3Code === 'SignatureDoesNotMatch' && e.code === 'needs-new-target',
  );
  await assert.rejects(signpost.upload(p.presignPut({ bucket: BUCKET, key: key('x') }), join(work, 'missing.bin')), (e) => e.code === 'file-unreadable');
});

test('an upload aborted through its AbortSignal resumes, sending only what is missing', async () => {
  const p = presigner();
  const k = key('aborted.mp4');
  const uploadId = await p.createMultipartUpload({ bucket: BUCKET, key: k });
  const job = p.presignMultipart({ bucket: BUCKET, key: k, uploadId, maxSize: 256 * MIB, partSize: 5 * MIB });
  // Large enough that the abort, delivered through the event loop, comes long before the end.
  const big = file('aborted.mp4', 160 * MIB + 7);
  const stateDir = join(work, `state-${randomUUID()}`);
  const ac = new AbortController();
  // One part at a time: once the third part is going out, parts 1 and 2 are confirmed.
  const onProgress = ({ bytesSent }) => {
    if (bytesSent > 11 * MIB) ac.abort();
  };
  await assert.rejects(
    signpost.upload(job, big.path, { stateDir, concurrency: 1, signal: ac.signal, onProgress }),
    (e) => e instanceof signpost.UploadError && e.code === 'interrupted' && e.uploadId === uploadId && e.partsStored >= 2,
  );
  const out = await signpost.upload(job, big.path, { stateDir });
  assert.ok(out.partsReused >= 2, JSON.stringify(out));
  assert.ok(out.bytesSent < big.bytes.length);
  assert.equal(sha(await readBack(p, k)), sha(big.bytes));
  assert.deepEqual(readdirSync(stateDir).filter((f) => f.endsWith('.journal')), []);
});

test('the job-server example answers descriptors a runner uploads to', async () => {
  const port = await freePort();
  const example = spawn(process.execPath, [join(here, '..', '..', 'examples', 'node', 'job-server.mjs')], {
    env: { ...env(), SIGNPOST_BUCKET: BUCKET, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const ask = async (query) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          const r = await fetch(`http://127.0.0.1:${port}/jobs/${randomUUID()}/upload-target?${query}`, { method: 'POST' });
          assert.equal(r.status, 200, await r.clone().text());
          return (await r.json()).videoFileCustomUpload;
        } catch (e) {
          if (e.code !== 'ECONNREFUSED' && e.cause?.code !== 'ECONNREFUSED') throw e;
          assert.ok(Date.now() < deadline, 'the example did not listen within 30 s');
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const p = presigner();
    for (const query of ['kind=put', 'kind=post', `kind=multipart&size=${12 * MIB}`]) {
      const job = await ask(query);
      const f = file('output.mp4', query.startsWith('kind=multipart') ? 12 * MIB : 2 * MIB);
      const out = await signpost.upload(job, f.path, job.fields ? { fileName: 'output.mp4' } : {});
      const k = out.key || new URL(job.url).pathname.split('/').slice(2).join('/');
      assert.equal(sha(await readBack(p, decodeURIComponent(k))), sha(f.bytes), query);
    }
  } finally {
    const exited = new Promise((r) => example.once('exit', r));
    example.kill('SIGTERM');
    await exited;
  }
});

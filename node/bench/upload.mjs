// A 1 GiB upload to `signpost serve` from Node (this package's `upload`) and from the
// `signpost upload` binary, alternated in one run, the median of each reported with the ratio.
//   cargo build --release -p signpost && cd node && npm run build && node bench/upload.mjs [RUNS] [BYTES]
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync, openSync, writeSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const signpost = require('../index.js');
const here = dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SIGNPOST_BIN || join(here, '..', '..', 'target', 'release', 'signpost');
const RUNS = Number(process.argv[2] || 3);
const SIZE = Number(process.argv[3] || 2 ** 30);
const work = mkdtempSync(join(tmpdir(), 'signpost-node-bench-'));
const port = await new Promise((r) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => r(port));
  });
});
const endpoint = `http://127.0.0.1:${port}`;
const env = { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'benchsecret', SIGNPOST_LOG: 'off' };
const server = spawn(BIN, ['serve', '--addr', `127.0.0.1:${port}`, '--data', join(work, 'data'), '--bucket', 'bench'], { env, stdio: 'ignore' });
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${endpoint}/healthz`)).ok) break;
  } catch {}
  if (i > 1500) throw new Error('serve did not start');
  await new Promise((r) => setTimeout(r, 20));
}
const file = join(work, 'file.bin');
const fd = openSync(file, 'w');
const chunk = randomBytes(16 << 20);
for (let n = 0; n < SIZE; n += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, SIZE - n));
closeSync(fd);
const p = new signpost.Presigner({ endpoint, credentials: { accessKeyId: 'bench', secretAccessKey: 'benchsecret' } });
const times = { node: [], binary: [] };
for (let r = 0; r < RUNS; r++) {
  for (const who of r % 2 ? ['binary', 'node'] : ['node', 'binary']) {
    const uploadId = await p.createMultipartUpload({ bucket: 'bench', key: `${who}-${r}` });
    const job = p.presignMultipart({ bucket: 'bench', key: `${who}-${r}`, uploadId, maxSize: SIZE, partSize: 16 << 20 });
    const start = process.hrtime.bigint();
    if (who === 'node') {
      await signpost.upload(job, file);
    } else {
      const jf = join(work, 'job.json');
      writeFileSync(jf, JSON.stringify(job));
      execFileSync(BIN, ['upload', '--no-progress', '--job', jf, file], { env, stdio: 'ignore' });
    }
    times[who].push(Number(process.hrtime.bigint() - start) / 1e9);
  }
}
server.kill('SIGTERM');
rmSync(work, { recursive: true, force: true });
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const mbps = (s) => (SIZE / s / 1e6).toFixed(1);
console.log(`node upload()      median ${median(times.node).toFixed(2)} s (${mbps(median(times.node))} MB/s)  runs ${times.node.map((t) => t.toFixed(2)).join(' ')}`);
console.log(`signpost upload    median ${median(times.binary).toFixed(2)} s (${mbps(median(times.binary))} MB/s)  runs ${times.binary.map((t) => t.toFixed(2)).join(' ')}`);
console.log(`ratio node/binary  ${(median(times.node) / median(times.binary)).toFixed(3)}`);

// Presigning from Node, side by side in one run, one thread: signpost's package (a descriptor
// object per call, the crossing into Rust included) beside @aws-sdk/s3-request-presigner
// getSignedUrl(PutObject), @smithy/signature-v4 presign() alone, and @aws-sdk/s3-presigned-post
// createPresignedPost. Same credentials, endpoint, region and expiry.
//   cd node && npm run build && cd bench && npm install && node presign.mjs [SECONDS_PER_CASE]
import { createRequire } from 'node:module';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';

const require = createRequire(import.meta.url);
const signpost = require('../index.js');
const SECONDS = Number(process.argv[2] || 2);
const endpoint = 'http://127.0.0.1:9000';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const p = new signpost.Presigner({ endpoint, region: 'us-east-1', credentials });
const s3 = new S3Client({ endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
const sigv4 = new SignatureV4({ service: 's3', region: 'us-east-1', credentials, sha256: Sha256, uriEscapePath: false, applyChecksum: false });

async function rate(fn) {
  for (let i = 0; i < 200; i++) await fn(i);
  let best = 0;
  for (let round = 0; round < 3; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round((SECONDS / 3) * 1e9));
    let now = start;
    while (now < end) {
      for (let i = 0; i < 200; i++) await fn(n + i);
      n += 200;
      now = process.hrtime.bigint();
    }
    best = Math.max(best, n / (Number(now - start) / 1e9));
  }
  return best;
}

// The same request from each: the path agrees.
const ours = p.presignPut({ bucket: 'videos', key: 'job-1/out.mp4', expiresIn: 3600 }).url;
const theirs = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'videos', Key: 'job-1/out.mp4' }), { expiresIn: 3600 });
if (ours.split('?')[0] !== theirs.split('?')[0]) throw new Error(`${ours} vs ${theirs}`);

const put = await rate((i) => p.presignPut({ bucket: 'videos', key: `job-${i}/out.mp4`, expiresIn: 3600 }));
const sdk = await rate((i) => getSignedUrl(s3, new PutObjectCommand({ Bucket: 'videos', Key: `job-${i}/out.mp4` }), { expiresIn: 3600 }));
const raw = await rate((i) =>
  sigv4.presign(new HttpRequest({ method: 'PUT', protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: `/videos/job-${i}/out.mp4`, headers: { host: '127.0.0.1:9000' } }), { expiresIn: 3600 }),
);
const post = await rate((i) => p.presignPost({ bucket: 'videos', keyPrefix: `job-${i}/`, maxSize: 2 ** 30, expiresIn: 3600 }));
const sdkPost = await rate((i) =>
  createPresignedPost(s3, { Bucket: 'videos', Key: `job-${i}/\${filename}`, Conditions: [['starts-with', '$key', `job-${i}/`], ['content-length-range', 0, 2 ** 30]], Expires: 3600 }),
);
const f = (n) => Math.round(n).toLocaleString('en-US');
console.log(`signpost presignPut          ${f(put)}/s`);
console.log(`getSignedUrl(PutObject)      ${f(sdk)}/s   signpost ${(put / sdk).toFixed(1)}x`);
console.log(`@smithy/signature-v4 presign ${f(raw)}/s   signpost ${(put / raw).toFixed(1)}x`);
console.log(`signpost presignPost         ${f(post)}/s`);
console.log(`createPresignedPost          ${f(sdkPost)}/s   signpost ${(post / sdkPost).toFixed(1)}x`);

// A job server's upload-target endpoint for PeerTube runners, on plain node:http: when a runner
// accepts a job it asks here, and gets the descriptor to put in the job payload's custom upload
// field (`videoFileCustomUpload`, …), signed just then.
//
//   cd node && npm install && npm run build && cd ..
//   AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=minioadmin AWS_SECRET_ACCESS_KEY=minioadmin \
//     node examples/node/job-server.mjs
//   curl -s -X POST 'http://127.0.0.1:8080/jobs/42/upload-target?kind=put'        # or post, multipart&size=N
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Presigner, SignpostError } = require('../../node/index.js');

const presigner = new Presigner({
  endpoint: process.env.AWS_ENDPOINT_URL, // undefined: AWS S3
  region: process.env.AWS_REGION || 'us-east-1',
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    sessionToken: process.env.AWS_SESSION_TOKEN,
  },
});
const BUCKET = process.env.SIGNPOST_BUCKET || 'videos';
// Transcoding plus upload at the slowest runner link, with a margin (README, "Wiring a job server").
const EXPIRES = 6 * 3600;

async function target(job, kind, size) {
  const key = `jobs/${job}/output.mp4`;
  switch (kind) {
    case 'put':
      return presigner.presignPut({ bucket: BUCKET, key, expiresIn: EXPIRES, contentType: 'video/mp4' });
    case 'post':
      return presigner.presignPost({ bucket: BUCKET, keyPrefix: `jobs/${job}/`, maxSize: 5 * 2 ** 30, successStatus: 201, expiresIn: EXPIRES });
    case 'multipart': {
      const uploadId = await presigner.createMultipartUpload({ bucket: BUCKET, key, contentType: 'video/mp4' });
      return presigner.presignMultipart({ bucket: BUCKET, key, uploadId, maxSize: Math.max(size, 64 * 2 ** 20) * 2, expiresIn: EXPIRES });
    }
    default:
      throw new RangeError(`kind must be put, post or multipart, not ${kind}`);
  }
}

createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const m = url.pathname.match(/^\/jobs\/([\w-]+)\/upload-target$/);
  if (req.method !== 'POST' || !m) {
    res.writeHead(404).end();
    return;
  }
  try {
    const descriptor = await target(m[1], url.searchParams.get('kind') || 'put', Number(url.searchParams.get('size') || 0));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ videoFileCustomUpload: descriptor }));
  } catch (e) {
    const status = e instanceof RangeError ? 400 : 502;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: e.message, code: e instanceof SignpostError ? e.code : 'bad-request' }));
  }
}).listen(Number(process.env.PORT || 8080), '127.0.0.1');

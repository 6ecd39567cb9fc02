// Compiled by `tsc --noEmit` in `npm test`: every export used as documented, so index.d.ts
// cannot drift from what the examples and users write.
import {
  DescriptorError,
  Presigner,
  SignpostError,
  UploadError,
  Verifier,
  VerifyError,
  parseDescriptor,
  upload,
  type Descriptor,
  type UploadOutcome,
} from '../index';

async function typed(): Promise<UploadOutcome> {
  const p = new Presigner({
    endpoint: 'http://127.0.0.1:9000',
    region: 'us-east-1',
    credentials: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: undefined },
  });
  const put: Descriptor = p.presignPut({ bucket: 'b', key: 'k', expiresIn: 600, contentType: 'video/mp4' });
  const post: Descriptor = p.presignPost({ bucket: 'b', keyPrefix: 'jobs/', maxSize: 1 << 30, successStatus: 201 });
  const get: string = p.presignGet({ bucket: 'b', key: 'k' });
  const id: string = await p.createMultipartUpload({ bucket: 'b', key: 'k' });
  const mp: Descriptor = p.presignMultipart({ bucket: 'b', key: 'k', uploadId: id, maxSize: 20 << 30 });
  new Verifier({ credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } }).verifyPresigned('GET', get, { host: '127.0.0.1:9000' });
  parseDescriptor(JSON.stringify(post));
  const ac = new AbortController();
  try {
    return await upload(mp.multipart ? mp : put, 'out.mp4', {
      signal: ac.signal,
      stateDir: '/tmp/state',
      onFailure: 'keep',
      onProgress: ({ bytesSent, totalBytes }) => void (bytesSent / totalBytes),
    });
  } catch (e) {
    if (e instanceof UploadError && e.code === 'needs-new-target') throw e;
    if (e instanceof VerifyError || e instanceof DescriptorError) throw e;
    const s: SignpostError = e as SignpostError;
    throw new Error(`${s.code} ${s.status ?? ''} ${s.s3Code ?? ''}`);
  }
}
void typed;

// signpost for Node: the Rust presigner, Verifier, descriptor reader and uploader, in-process
// (napi-rs). Descriptors are plain objects in the wire format a runner receives.
'use strict';

const native = require('./signpost.node');

/** Base class of every error signpost throws; `code` is a stable word for the kind. */
class SignpostError extends Error {
  constructor(p) {
    super(p.message);
    this.name = p.name || 'SignpostError';
    this.code = p.code;
    for (const k of ['status', 's3Code', 'requestId', 'needsNewTarget', 'beforeSending', 'uploadId', 'partsStored']) {
      if (p[k] !== undefined && p[k] !== null) this[k] = p[k];
    }
  }
}
class PresignError extends SignpostError {}
class DescriptorError extends SignpostError {}
class VerifyError extends SignpostError {}
class UploadError extends SignpostError {}
const classes = { PresignError, DescriptorError, VerifyError, UploadError };

/** The native side throws its failures as JSON in the message: the matching subclass. */
function unpack(e) {
  if (e && typeof e.message === 'string' && e.message.startsWith('{"')) {
    let p;
    try {
      p = JSON.parse(e.message);
    } catch {
      return e;
    }
    return new (classes[p.name] || SignpostError)(p);
  }
  return e;
}

function sync(fn) {
  try {
    return fn();
  } catch (e) {
    throw unpack(e);
  }
}

class Presigner {
  /** `new Presigner({ endpoint, region, credentials: { accessKeyId, secretAccessKey, sessionToken } })` */
  constructor(options) {
    this.handle = sync(() => native.presignerNew(options));
  }
  /** `{ bucket, key, expiresIn, contentType, contentLength, metadata, signedAt }` -> descriptor */
  presignPut(o) {
    let json;
    try {
      json = native.presignPut(this.handle, o.bucket, o.key, o.expiresIn, o.contentType, o.contentLength, o.metadata, o.signedAt);
    } catch (e) {
      throw unpack(e);
    }
    return JSON.parse(json);
  }
  /** `{ bucket, key | keyPrefix, minSize, maxSize, contentType | contentTypePrefix, successStatus, metadata, expiresIn, signedAt }` */
  presignPost(options) {
    return JSON.parse(sync(() => native.presignPost(this.handle, options)));
  }
  /** `{ bucket, key, expiresIn, signedAt }` -> URL */
  presignGet(o) {
    return sync(() => native.presignGet(this.handle, o.bucket, o.key, o.expiresIn, o.signedAt));
  }
  /** `{ bucket, key, uploadId, maxSize, partSize, expiresIn, signedAt }` -> descriptor */
  presignMultipart(options) {
    return JSON.parse(sync(() => native.presignMultipart(this.handle, options)));
  }
  /** `{ bucket, key, contentType }` -> Promise of the upload id */
  async createMultipartUpload(options) {
    const signed = sync(() => native.presignCreateMultipart(this.handle, options));
    try {
      return await native.sendCreateMultipart(signed);
    } catch (e) {
      throw unpack(e);
    }
  }
}

class Verifier {
  /** `new Verifier({ region, credentials: { accessKeyId, secretAccessKey } })` */
  constructor(options) {
    this.handle = sync(() => native.verifierNew(options));
  }
  /** Throws a VerifyError (status, s3Code) unless S3 would accept the request. */
  verifyPresigned(method, url, headers) {
    return sync(() => native.verifyPresigned(this.handle, method, url, headers));
  }
  /** `fields`: `[name, value]` pairs in the order posted. */
  verifyPost(url, fields) {
    return sync(() => native.verifyPost(this.handle, url, fields));
  }
}

const text = (d) => (typeof d === 'string' ? d : JSON.stringify(d));

/** A descriptor (object or JSON text), validated: the wire format's object, defaults filled in. */
function parseDescriptor(descriptor) {
  return JSON.parse(sync(() => native.parseDescriptor(text(descriptor))));
}

/**
 * Uploads `path` to `descriptor`. Options: `onProgress({ bytesSent, totalBytes })`, `signal`
 * (an AbortSignal: stops sending, keeps what the server confirmed in the journal), `stateDir`
 * (journals, for resume), `onFailure` ('keep' | 'abort'), `contentType`, `fileName`, `retries`,
 * `concurrency`.
 */
async function upload(descriptor, path, options = {}) {
  const { signal, onProgress, ...rest } = options;
  if (signal && signal.aborted) {
    throw new UploadError({ name: 'UploadError', code: 'interrupted', message: 'aborted before it started: nothing was sent' });
  }
  const cancel = new native.Cancel();
  const onAbort = () => cancel.cancel();
  if (signal) signal.addEventListener('abort', onAbort, { once: true });
  // The native side passes [bytesSent, totalBytes].
  const progress = onProgress ? ([bytesSent, totalBytes]) => onProgress({ bytesSent, totalBytes }) : undefined;
  try {
    return await native.upload(text(descriptor), String(path), { ...rest, onProgress: progress }, cancel);
  } catch (e) {
    throw unpack(e);
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort);
  }
}

module.exports = {
  Presigner,
  Verifier,
  parseDescriptor,
  upload,
  SignpostError,
  PresignError,
  DescriptorError,
  VerifyError,
  UploadError,
};

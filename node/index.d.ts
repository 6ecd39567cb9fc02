// Types of the `signpost` Node package (index.js). Checked by `npm test` (tsc over
// test/types.ts, which uses every export).

/** A RunnerJobCustomUpload in the wire format: what a runner receives. */
export interface Descriptor {
  url: string;
  method?: 'PUT' | 'POST';
  fields?: Record<string, string>;
  headers?: Record<string, string>;
  expectedStatusCodes?: number[];
  multipart?: {
    uploadId?: string;
    partSize: number;
    parts: string[];
    abortUrl: string;
    listPartsUrl?: string;
  };
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface PresignerOptions {
  /** A custom endpoint (MinIO, Garage, `signpost serve`); absent: AWS S3 for the region. */
  endpoint?: string;
  /** Default us-east-1. */
  region?: string;
  credentials: Credentials;
  /** Virtual-hosted addressing for a custom endpoint (default: path style). */
  virtualHosted?: boolean;
}

export interface PutOptions {
  bucket: string;
  key: string;
  /** Seconds, 1 to 604800; default 3600. */
  expiresIn?: number;
  contentType?: string;
  /** An exact size the upload must have (signed). */
  contentLength?: number;
  metadata?: Record<string, string>;
  /** Sign as of this RFC 3339 time instead of now. */
  signedAt?: string;
}

export interface GetOptions {
  bucket: string;
  key: string;
  expiresIn?: number;
  signedAt?: string;
}

export interface PostOptions {
  bucket: string;
  key?: string;
  keyPrefix?: string;
  minSize?: number;
  maxSize?: number;
  contentType?: string;
  contentTypePrefix?: string;
  successStatus?: 200 | 201 | 204;
  metadata?: Record<string, string>;
  expiresIn?: number;
  signedAt?: string;
}

export interface MultipartOptions {
  bucket: string;
  key: string;
  uploadId: string;
  maxSize: number;
  /** Default 64 MiB. */
  partSize?: number;
  expiresIn?: number;
  signedAt?: string;
}

export interface CreateOptions {
  bucket: string;
  key: string;
  contentType?: string;
}

export declare class Presigner {
  constructor(options: PresignerOptions);
  presignPut(options: PutOptions): Descriptor;
  presignPost(options: PostOptions): Descriptor;
  presignGet(options: GetOptions): string;
  presignMultipart(options: MultipartOptions): Descriptor;
  createMultipartUpload(options: CreateOptions): Promise<string>;
}

export interface VerifierOptions {
  region?: string;
  credentials: Credentials;
}

export declare class Verifier {
  constructor(options: VerifierOptions);
  /** Throws a VerifyError unless S3 would accept the request; `headers` include `host`. */
  verifyPresigned(method: string, url: string, headers: Record<string, string>): void;
  /** `fields`: `[name, value]` pairs, in the order posted. */
  verifyPost(url: string, fields: Array<[string, string]>): void;
}

export declare function parseDescriptor(descriptor: Descriptor | string): Descriptor;

export interface Progress {
  bytesSent: number;
  totalBytes: number;
}

export interface UploadOptions {
  onProgress?: (progress: Progress) => void;
  /** Stops sending; what the server confirmed stays in the journal (with `stateDir`). */
  signal?: AbortSignal;
  /** Where multipart journals are kept, so an interrupted upload resumes. */
  stateDir?: string;
  onFailure?: 'keep' | 'abort';
  contentType?: string;
  fileName?: string;
  /** Retries after the first attempt; default 3. */
  retries?: number;
  /** Parts at once; default 4. */
  concurrency?: number;
}

export interface UploadOutcome {
  status: number;
  bytes: number;
  seconds: number;
  etag: string | null;
  attempts: number;
  parts: number | null;
  partsReused: number;
  bytesSent: number;
  location: string | null;
  key: string | null;
}

export declare function upload(
  descriptor: Descriptor | string,
  path: string,
  options?: UploadOptions,
): Promise<UploadOutcome>;

/** Every error signpost throws. `code`: `invalid-argument`, `invalid-descriptor`, `refused`,
 * and for uploads the kinds of `signpost --json` (`expired`, `unreachable`, `needs-new-target`,
 * `interrupted`, …). */
export declare class SignpostError extends Error {
  code: string;
  status?: number;
  s3Code?: string;
  needsNewTarget?: boolean;
  beforeSending?: boolean;
  uploadId?: string;
  partsStored?: number;
}
export declare class PresignError extends SignpostError {}
export declare class DescriptorError extends SignpostError {}
export declare class VerifyError extends SignpostError {}
export declare class UploadError extends SignpostError {}

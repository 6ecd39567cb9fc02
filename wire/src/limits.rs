//! S3's numeric limits, in one place: what the signer refuses to sign, what the uploader's
//! pre-flight refuses to send, and what the verifier refuses to accept all come from here.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html>,
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html>.

/// The largest object one PutObject (or POST form) can create: 5 GiB.
pub const MAX_PUT_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The largest object: 5 TiB.
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * 1024 * 1024;
/// The smallest part of a multipart upload, the last part excepted: 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// The largest part: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// The most parts one multipart upload can have.
pub const MAX_PARTS: u32 = 10_000;
/// The shortest validity of a SigV4 presigned request, in seconds.
pub const MIN_EXPIRES_SECS: u64 = 1;
/// The longest validity of a SigV4 presigned request, in seconds: 7 days.
pub const MAX_EXPIRES_SECS: u64 = 7 * 24 * 3600;
/// The longest object key, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;
/// How far a request's time may be from the server's clock: 15 minutes.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

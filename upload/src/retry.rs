//! When and how long to wait before trying again.
//!
//! Retried: connection faults and timeouts, 5xx, 429 and S3's `SlowDown`. Never: any other 4xx
//! (a refused signature stays refused). Waits grow exponentially with full jitter, as AWS's
//! SDKs do (<https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/>); a
//! `Retry-After` header sets the wait instead. Nothing is retried once the URL has expired.

use signpost_wire::s3_xml::S3ErrorCode;
use std::time::Duration;

/// How many times to try and how long to wait between tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    /// The wait before the first retry, before jitter.
    pub initial_backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// No retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts from 1): a uniformly random
    /// duration up to `min(max_backoff, initial_backoff * 2^(attempt-1))`, or `retry_after` when
    /// the server gave one (capped at `max_backoff`).
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.max_backoff);
        }
        let exp = attempt.saturating_sub(1).min(30);
        let ceiling = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        let ms = ceiling.as_millis() as u64;
        Duration::from_millis(if ms == 0 { 0 } else { fastrand::u64(0..=ms) })
    }
}

/// Whether S3's answer is worth another try: server errors, throttling, a body that arrived
/// damaged (`BadDigest`: the bytes are read again) or too slowly (`RequestTimeout`).
pub fn is_retryable_status(status: u16, s3_code: Option<&S3ErrorCode>) -> bool {
    use S3ErrorCode::*;
    // 501 Not Implemented stays not implemented.
    (status >= 500 && status != 501)
        || status == 429
        || matches!(s3_code, Some(SlowDown | BadDigest | RequestTimeout))
}

/// Parses `Retry-After` in seconds (`120`). An HTTP date is not honoured (S3 sends seconds).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        for s in [500, 502, 503, 504, 429] {
            assert!(is_retryable_status(s, None), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 411, 412, 501] {
            assert!(!is_retryable_status(s, None), "{s}");
        }
        assert!(is_retryable_status(
            400,
            Some(&S3ErrorCode::from("SlowDown"))
        ));
        assert!(is_retryable_status(
            400,
            Some(&S3ErrorCode::from("BadDigest"))
        ));
        assert!(is_retryable_status(
            400,
            Some(&S3ErrorCode::from("RequestTimeout"))
        ));
        assert!(!is_retryable_status(
            400,
            Some(&S3ErrorCode::from("InvalidDigest"))
        ));
        assert!(!is_retryable_status(
            403,
            Some(&S3ErrorCode::from("SignatureDoesNotMatch"))
        ));
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
        };
        for attempt in 1..10 {
            let ceiling =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            for _ in 0..50 {
                assert!(p.backoff(attempt, None) <= ceiling);
            }
        }
        let waits: std::collections::HashSet<_> = (0..50).map(|_| p.backoff(5, None)).collect();
        assert!(waits.len() > 1, "jitter varies the wait");
        assert_eq!(
            p.backoff(1, Some(Duration::from_millis(300))),
            Duration::from_millis(300)
        );
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(60))),
            Duration::from_secs(1)
        );
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}

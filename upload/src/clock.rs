//! Whose time an upload goes by. A presigned URL expires at a time on the signer's clock, which
//! S3 compares with its own; a runner whose clock is fast would call a valid URL expired. So
//! when the pre-flight finds a URL expired, the server is asked the time (the `Date` header of
//! one `HEAD` of that URL, which any S3 answers, if only with a refusal) and, within S3's own
//! 15-minute tolerance of clocks, the server's time is the one used. A URL expired by the
//! server's clock too is refused, and the error says both times.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current time: the system clock, or one a test injects.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> OffsetDateTime + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Clock(Arc::new(OffsetDateTime::now_utc))
    }

    /// A clock that reads `f`.
    pub fn from_fn(f: impl Fn() -> OffsetDateTime + Send + Sync + 'static) -> Self {
        Clock(Arc::new(f))
    }

    /// The system clock shifted by `offset` (a fast clock: positive).
    pub fn offset(offset: time::Duration) -> Self {
        Clock(Arc::new(move || OffsetDateTime::now_utc() + offset))
    }

    /// Now.
    pub fn now(&self) -> OffsetDateTime {
        (self.0)()
    }

    /// This clock, shifted by `offset`.
    pub(crate) fn shifted(&self, offset: time::Duration) -> Self {
        if offset.is_zero() {
            return self.clone();
        }
        let inner = Arc::clone(&self.0);
        Clock(Arc::new(move || inner() + offset))
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// How far a runner's clock may be from the server's before a URL it calls expired is believed
/// expired without asking: S3's own tolerance (requests more than 15 minutes off are refused with
/// `RequestTimeTooSkewed`).
pub(crate) const TOLERANCE: time::Duration = time::Duration::minutes(15);

/// The server's time, from the `Date` header of a `HEAD` of `url` (any answer will do); `None`
/// when it cannot be had within a few seconds.
pub(crate) async fn server_time(client: &reqwest::Client, url: &str) -> Option<OffsetDateTime> {
    let resp = tokio::time::timeout(Duration::from_secs(5), client.head(url).send())
        .await
        .ok()?
        .ok()?;
    let date = resp.headers().get("date")?.to_str().ok()?;
    let t = httpdate::parse_http_date(date).ok()?;
    Some(OffsetDateTime::from(t))
}

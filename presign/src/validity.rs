//! One validity window for everything signpost signs: presigned URLs, POST policies, multipart
//! plans.
//!
//! A signature is made at some instant (now, or a fixed time for reproducible output) and stays
//! valid for 1 second to 7 days. [`Validity`] checks both once, when it is made, the way
//! `aws-sdk-s3`'s `PresigningConfig::expires_in` does, so signing itself cannot fail on time.

use std::time::Duration;

use signpost_wire::limits::{MAX_EXPIRES_SECS, MIN_EXPIRES_SECS};
use time::OffsetDateTime;

use crate::error::PresignError;

/// When a signature is made and how long it is accepted. Default: from now, one hour.
///
/// ```
/// use signpost_presign::Validity;
/// use std::time::Duration;
/// let v = Validity::expires_in(Duration::from_secs(600))?;
/// assert_eq!(v.expires_in_secs(), 600);
/// assert!(Validity::expires_in(Duration::from_secs(8 * 24 * 3600)).is_err());
/// # Ok::<(), signpost_presign::PresignError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    expires_in: u64,
    signed_at: Option<OffsetDateTime>,
    strict: bool,
}

/// The resolved window: the signing instant (whole seconds, UTC) and the last accepted instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) signed_at: OffsetDateTime,
    pub(crate) expires_at: OffsetDateTime,
    pub(crate) expires_in: u64,
    /// The end asked for, when the credentials' expiry cut it short.
    pub(crate) capped_from: Option<OffsetDateTime>,
}

impl Default for Validity {
    fn default() -> Self {
        Validity {
            expires_in: 3600,
            signed_at: None,
            strict: false,
        }
    }
}

fn representable(t: OffsetDateTime) -> bool {
    (0..=9999).contains(&t.year())
}

impl Validity {
    /// Valid for `d` from signing: 1 second to 7 days, whole seconds (a fraction is dropped).
    pub fn expires_in(d: Duration) -> Result<Self, PresignError> {
        let seconds = d.as_secs();
        if !(MIN_EXPIRES_SECS..=MAX_EXPIRES_SECS).contains(&seconds) {
            return Err(PresignError::ExpiryOutOfRange { seconds });
        }
        Ok(Validity {
            expires_in: seconds,
            signed_at: None,
            strict: false,
        })
    }

    /// Signs as of `t` instead of the moment of signing (tests, reproducible URLs, a clock you
    /// trust more than this machine's). Sub-second precision is dropped, as SigV4 dates have none.
    pub fn signed_at(self, t: OffsetDateTime) -> Result<Self, PresignError> {
        let t = t.to_offset(time::UtcOffset::UTC);
        let t = t.replace_nanosecond(0).unwrap_or(t);
        let end = t.checked_add(time::Duration::seconds(self.expires_in as i64));
        if !representable(t) || !end.is_some_and(representable) {
            return Err(PresignError::TimeOutOfRange { at: t });
        }
        Ok(Validity {
            signed_at: Some(t),
            ..self
        })
    }

    /// Refuses to sign, instead of shortening the validity, when the credentials expire before
    /// the requested end (see [`Credentials::with_expiry`](crate::Credentials::with_expiry)).
    pub fn strict_expiry(self) -> Self {
        Validity {
            strict: true,
            ..self
        }
    }

    /// Whether [`strict_expiry`](Self::strict_expiry) is set.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Seconds of validity.
    pub fn expires_in_secs(&self) -> u64 {
        self.expires_in
    }

    /// The fixed signing time, if one was set.
    pub fn fixed_signing_time(&self) -> Option<OffsetDateTime> {
        self.signed_at
    }

    /// This validity with its signing time fixed: the one set, or now. Signing many requests
    /// with the result gives them all one signing time and one expiry.
    pub fn pinned(self) -> Result<Self, PresignError> {
        match self.signed_at {
            Some(_) => Ok(self),
            None => self.signed_at(OffsetDateTime::now_utc()),
        }
    }

    /// The window, with "now" read from the clock when no signing time was fixed.
    pub(crate) fn window(&self) -> Window {
        let signed_at = self.signed_at.unwrap_or_else(|| {
            let now = OffsetDateTime::now_utc();
            now.replace_nanosecond(0).unwrap_or(now)
        });
        Window {
            signed_at,
            // Checked in `signed_at`; for "now" it is centuries from overflowing.
            expires_at: signed_at + time::Duration::seconds(self.expires_in as i64),
            expires_in: self.expires_in,
            capped_from: None,
        }
    }

    /// The window for credentials that expire at `credentials_expire`: cut short to that
    /// instant (S3 refuses the URL afterwards anyway), or refused when the validity is strict.
    pub(crate) fn window_for(
        &self,
        credentials_expire: Option<OffsetDateTime>,
    ) -> Result<Window, PresignError> {
        let w = self.window();
        let Some(end) = credentials_expire else {
            return Ok(w);
        };
        // Whole seconds: a URL of the last fraction of a second would outlive them.
        if end - w.signed_at < time::Duration::SECOND {
            return Err(PresignError::CredentialsExpired {
                expired_at: end,
                signed_at: w.signed_at,
            });
        }
        if end >= w.expires_at {
            return Ok(w);
        }
        if self.strict {
            return Err(PresignError::ExpiryBeyondCredentials {
                requested: w.expires_at,
                credentials_expire: end,
            });
        }
        let expires_in = (end - w.signed_at).whole_seconds() as u64;
        Ok(Window {
            signed_at: w.signed_at,
            expires_at: w.signed_at + time::Duration::seconds(expires_in as i64),
            expires_in,
            capped_from: Some(w.expires_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn bounds_are_checked_once_at_construction() {
        for secs in [0, 604_801] {
            let e = Validity::expires_in(Duration::from_secs(secs)).unwrap_err();
            assert!(matches!(e, PresignError::ExpiryOutOfRange { seconds } if seconds == secs));
            assert!(e.to_string().contains("604800"));
        }
        assert!(Validity::expires_in(Duration::from_secs(604_800)).is_ok());
        assert!(Validity::expires_in(Duration::from_millis(1_999)).is_ok());
        let late = Validity::default().signed_at(datetime!(9999-12-31 23:30 UTC));
        assert!(matches!(late, Err(PresignError::TimeOutOfRange { .. })));
    }

    #[test]
    fn the_window_drops_subseconds_and_adds_the_expiry() {
        let w = Validity::expires_in(Duration::from_secs(600))
            .unwrap()
            .signed_at(datetime!(2024-01-02 3:04:05.999 +01:00))
            .unwrap()
            .window();
        assert_eq!(w.signed_at, datetime!(2024-01-02 2:04:05 UTC));
        assert_eq!(w.expires_at, datetime!(2024-01-02 2:14:05 UTC));
        let now = Validity::default().window();
        assert_eq!(now.signed_at.nanosecond(), 0);
        assert_eq!(now.expires_at - now.signed_at, time::Duration::hours(1));
    }
}

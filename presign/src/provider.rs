//! Credentials from a provider (the AWS SDKs' `ProvideCredentials`), cached and refreshed before
//! they expire.
//!
//! Signing reads the cached credentials through an `ArcSwapOption`: no lock, no call to the
//! provider. Only a refresh takes the (async) gate, so that one caller loads while the others
//! wait for its result instead of calling STS or the instance metadata service themselves.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use time::OffsetDateTime;

use crate::credentials::Credentials;
use crate::error::PresignError;
use crate::signing_credentials::SigningCredentials;
#[cfg(test)]
use crate::signing_credentials::refresh_at;

/// A provider and the gate its refreshes go through.
pub(crate) struct Refresher {
    provider: SharedCredentialsProvider,
    gate: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Whether `c` should be loaded again at `now`: it expires within a quarter of its lifetime
/// (at most 15 minutes). A quarter, so that credentials issued for 15 minutes are not loaded
/// again on every call.
#[cfg(test)]
pub(crate) fn needs_refresh(c: &SigningCredentials, now: OffsetDateTime) -> bool {
    refresh_at(c).is_some_and(|t| now.unix_timestamp() >= t)
}

/// Seconds since the Unix epoch, read the cheap way: this is on every signature's path.
fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn still_valid(c: &SigningCredentials, now: OffsetDateTime) -> bool {
    c.credentials.expires_at().is_none_or(|end| now < end)
}

impl Refresher {
    pub(crate) fn new(provider: impl ProvideCredentials + 'static) -> Self {
        Refresher {
            provider: SharedCredentialsProvider::new(provider),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    pub(crate) async fn refresh(
        &self,
        current: &ArcSwapOption<SigningCredentials>,
    ) -> Result<(), PresignError> {
        let fresh_enough = || {
            current
                .load()
                .as_deref()
                .is_some_and(|c| c.refresh_at.is_none_or(|t| now_unix() < t))
        };
        if fresh_enough() {
            return Ok(());
        }
        let _gate = self.gate.lock().await;
        // Another caller may have loaded them while this one waited.
        if fresh_enough() {
            return Ok(());
        }
        match self.provider.provide_credentials().await {
            Ok(c) => {
                current.store(Some(Arc::new(SigningCredentials::new(Credentials::from(
                    &c,
                )))));
                Ok(())
            }
            Err(e) => {
                let now = OffsetDateTime::now_utc();
                if current
                    .load()
                    .as_deref()
                    .is_some_and(|c| still_valid(c, now))
                {
                    // The cached ones still sign; their URLs are cut to their expiry.
                    return Ok(());
                }
                Err(PresignError::CredentialsUnavailable {
                    reason: signpost_wire::error_line(&e),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use time::Duration;

    use aws_credential_types::provider::{error::CredentialsError, future};

    use std::time::SystemTime;

    use super::*;
    use crate::{Endpoint, PresignRequest, Presigner, Validity};

    /// Hands out credentials that expire `lifetime` after each call, counting the calls; fails
    /// when `fail` is set.
    #[derive(Debug)]
    struct Counting {
        calls: Arc<AtomicU32>,
        lifetime: std::time::Duration,
        fail: Arc<std::sync::atomic::AtomicBool>,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail.load(Ordering::SeqCst) {
                return future::ProvideCredentials::ready(Err(CredentialsError::provider_error(
                    "the test provider is down",
                )));
            }
            future::ProvideCredentials::ready(Ok(aws_credential_types::Credentials::new(
                format!("AKID{n}"),
                "SECRET",
                Some("TOKEN".into()),
                Some(SystemTime::now() + self.lifetime),
                "test",
            )))
        }
    }

    #[allow(clippy::type_complexity)]
    fn presigner(
        lifetime_secs: u64,
    ) -> (
        Presigner,
        Arc<AtomicU32>,
        Arc<std::sync::atomic::AtomicBool>,
    ) {
        let calls = Arc::new(AtomicU32::new(0));
        let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let p = Presigner::with_provider(
            Counting {
                calls: Arc::clone(&calls),
                lifetime: std::time::Duration::from_secs(lifetime_secs),
                fail: Arc::clone(&fail),
            },
            Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap(),
        );
        (p, calls, fail)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn loaded_once_then_cached_and_the_url_carries_the_token() {
        let (p, calls, _) = presigner(3600);
        let req = PresignRequest::put_object("b", "k");
        assert!(matches!(
            p.presign(&req),
            Err(PresignError::CredentialsUnavailable { .. })
        ));
        for _ in 0..5 {
            let r = block_on(p.presign_fresh(&req)).unwrap();
            assert!(r.url().as_str().contains("X-Amz-Security-Token=TOKEN"));
            assert!(r.url().as_str().contains("X-Amz-Credential=AKID1%2F"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn credentials_near_expiry_are_loaded_again() {
        // 60 s of life: refreshed within their last 15 s; 10 s of life: every call is within it.
        let (p, calls, _) = presigner(10);
        let req = PresignRequest::put_object("b", "k");
        block_on(p.presign_fresh(&req)).unwrap();
        let c = p.current.load_full().unwrap();
        assert!(!needs_refresh(&c, c.loaded_at));
        assert!(needs_refresh(&c, c.loaded_at + Duration::seconds(8)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_url_never_outlives_its_credentials_unless_strict_refuses() {
        let (p, _, _) = presigner(600);
        let hour = Validity::expires_in(std::time::Duration::from_secs(3600)).unwrap();
        let req = PresignRequest::put_object("b", "k").validity(hour);
        let r = block_on(p.presign_fresh(&req)).unwrap();
        let creds_end = p.credentials().unwrap().expires_at().unwrap();
        assert!(r.expiry_capped_from().is_some());
        assert!(
            r.expires_at() <= creds_end,
            "{} > {creds_end}",
            r.expires_at()
        );
        assert!(r.expires_at() > creds_end - Duration::seconds(2));
        let expires: u64 = r
            .url()
            .as_str()
            .split("X-Amz-Expires=")
            .nth(1)
            .and_then(|s| s.split('&').next())
            .and_then(|s| s.parse().ok())
            .unwrap();
        assert!((598..=600).contains(&expires), "{expires}");

        let strict = PresignRequest::put_object("b", "k").validity(hour.strict_expiry());
        let err = p.presign(&strict).unwrap_err();
        assert!(matches!(err, PresignError::ExpiryBeyondCredentials { .. }));
        assert!(err.to_string().contains("shorter expiry"), "{err}");

        // The same cut, asked before signing.
        let cut = p.expiry_cut(&hour).unwrap().unwrap();
        assert!((cut - r.expires_at()).whole_seconds().abs() <= 1, "{cut}");
        assert!(matches!(
            p.expiry_cut(&hour.strict_expiry()),
            Err(PresignError::ExpiryBeyondCredentials { .. })
        ));

        let short = Validity::expires_in(std::time::Duration::from_secs(60)).unwrap();
        assert_eq!(p.expiry_cut(&short).unwrap(), None);
        let r = p
            .presign(&PresignRequest::put_object("b", "k").validity(short.strict_expiry()))
            .unwrap();
        assert_eq!(r.expiry_capped_from(), None);
    }

    #[test]
    fn a_failed_refresh_keeps_valid_credentials_and_reports_once_they_expired() {
        let (p, calls, fail) = presigner(3600);
        let req = PresignRequest::put_object("b", "k");
        let now = OffsetDateTime::now_utc();
        // Loaded an hour ago, a minute left: due for a refresh, still valid.
        let mut due = SigningCredentials::new(
            Credentials::new("OLD", "SECRET").with_expiry(now + Duration::seconds(60)),
        );
        due.loaded_at = now - Duration::hours(1);
        due.refresh_at = refresh_at(&due);
        p.current.store(Some(Arc::new(due)));
        fail.store(true, Ordering::SeqCst);
        let r = block_on(p.presign_fresh(&req)).unwrap();
        assert!(r.url().as_str().contains("X-Amz-Credential=OLD%2F"));
        assert!(r.expiry_capped_from().is_some());
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let mut expired = SigningCredentials::new(
            Credentials::new("OLD", "SECRET").with_expiry(now - Duration::seconds(1)),
        );
        expired.loaded_at = now - Duration::hours(1);
        expired.refresh_at = refresh_at(&expired);
        p.current.store(Some(Arc::new(expired)));
        let err = block_on(p.presign_fresh(&req)).unwrap_err();
        assert!(
            err.to_string().contains("the test provider is down"),
            "{err}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        // Recovered: the next call loads fresh credentials.
        fail.store(false, Ordering::SeqCst);
        let r = block_on(p.presign_fresh(&req)).unwrap();
        assert!(r.url().as_str().contains("X-Amz-Credential=AKID3%2F"));

        // Credentials that expire as they are issued cannot sign.
        let (instant, _, _) = presigner(0);
        let err = block_on(instant.presign_fresh(&req)).unwrap_err();
        assert!(
            matches!(err, PresignError::CredentialsExpired { .. }),
            "{err}"
        );
    }
}

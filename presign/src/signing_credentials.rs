//! The credentials signing now, with what every URL they sign repeats computed once, and when a
//! provider's are due to be loaded again.

use std::sync::Arc;

use time::Duration;

use crate::credentials::Credentials;
use crate::error::PresignError;
use crate::uri_encode::encode;

/// The longest head start a refresh takes on the expiry (botocore's advisory refresh).
const MAX_HEAD_START: Duration = Duration::minutes(15);

/// Credentials with what every URL they sign repeats, computed once.
#[derive(Debug)]
pub(crate) struct SigningCredentials {
    pub(crate) credentials: Credentials,
    /// The session token, URI-encoded once: every URL carries it.
    pub(crate) token_encoded: Option<String>,
    /// When they were loaded (for a provider's refresh schedule).
    pub(crate) loaded_at: time::OffsetDateTime,
    /// When a provider loads them again (Unix seconds); `None` for credentials without expiry.
    pub(crate) refresh_at: Option<i64>,
}

impl SigningCredentials {
    pub(crate) fn new(credentials: Credentials) -> Self {
        let mut c = SigningCredentials {
            token_encoded: credentials.session_token().map(encode),
            credentials,
            loaded_at: time::OffsetDateTime::now_utc(),
            refresh_at: None,
        };
        c.refresh_at = refresh_at(&c);
        c
    }
}

/// The cached credentials, or the reason there are none.
pub(crate) fn loaded(
    guard: &Option<Arc<SigningCredentials>>,
) -> Result<&SigningCredentials, PresignError> {
    guard
        .as_deref()
        .ok_or_else(|| PresignError::CredentialsUnavailable {
            reason: "none loaded yet: call refresh_credentials (or presign_fresh) first".into(),
        })
}

/// When (Unix seconds) `c` is due to be loaded again; `None` for credentials without expiry.
pub(crate) fn refresh_at(c: &SigningCredentials) -> Option<i64> {
    let end = c.credentials.expires_at()?;
    let lifetime: Duration = end - c.loaded_at;
    let quarter: Duration = lifetime / 4_i32;
    let head_start = quarter.clamp(Duration::ZERO, MAX_HEAD_START);
    Some((end - head_start).unix_timestamp())
}

//! AWS credentials: an access key id, a secret access key and, for temporary credentials, a
//! session token.
//!
//! The secret and the token are [`Secret`]s: `Debug` shows `******`.

use signpost_wire::Secret;
use time::OffsetDateTime;

use crate::error::PresignError;

/// Credentials that sign requests.
///
/// ```
/// use signpost_presign::Credentials;
/// let c = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
/// assert!(!format!("{c:?}").contains("wJalr"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: Secret,
    session_token: Option<Secret>,
    expires_at: Option<OffsetDateTime>,
}

impl Credentials {
    /// Long-term credentials.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<Secret>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
            expires_at: None,
        }
    }

    /// The instant temporary credentials stop working (STS, an instance profile, a container
    /// role). A URL they sign is capped at this instant: S3 refuses it afterwards, whatever its
    /// `X-Amz-Expires` says.
    pub fn with_expiry(mut self, expires_at: OffsetDateTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// When these credentials expire, for temporary credentials.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.expires_at
    }

    /// Adds the session token of temporary (STS) credentials; presigned URLs then carry
    /// `X-Amz-Security-Token`.
    pub fn with_session_token(mut self, token: impl Into<Secret>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional `AWS_SESSION_TOKEN`,
    /// the variables every AWS tool reads.
    pub fn from_env() -> Result<Self, PresignError> {
        let get = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or(PresignError::MissingCredentials { variable: name })
        };
        let c = Credentials::new(get("AWS_ACCESS_KEY_ID")?, get("AWS_SECRET_ACCESS_KEY")?);
        Ok(match std::env::var("AWS_SESSION_TOKEN") {
            Ok(t) if !t.is_empty() => c.with_session_token(t),
            _ => c,
        })
    }

    /// The access key id (not secret: it is in every presigned URL).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key.
    pub fn secret(&self) -> &Secret {
        &self.secret_access_key
    }

    /// The secret access key's text.
    pub fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose()
    }

    /// The session token, for temporary credentials.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_ref().map(Secret::expose)
    }
}

/// The AWS SDKs' credentials (from `aws-config`'s providers), expiry included.
impl From<&aws_credential_types::Credentials> for Credentials {
    fn from(c: &aws_credential_types::Credentials) -> Self {
        let mut out = Credentials::new(c.access_key_id(), c.secret_access_key());
        if let Some(t) = c.session_token() {
            out = out.with_session_token(t);
        }
        if let Some(exp) = c.expiry() {
            out = out.with_expiry(OffsetDateTime::from(exp));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret_and_token() {
        let c = Credentials::new("AKID", "SECRETKEY").with_session_token("SESSIONTOKEN");
        let s = format!("{c:?}");
        assert!(s.contains("AKID"));
        assert!(
            !s.contains("SECRETKEY") && !s.contains("SESSIONTOKEN"),
            "{s}"
        );
    }
}

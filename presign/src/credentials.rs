//! AWS credentials: an access key id, a secret access key and, for temporary credentials, a
//! session token.
//!
//! The secret and the token are [`Secret`]s: `Debug` shows `******`.

use signpost_wire::Secret;

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
}

impl Credentials {
    /// Long-term credentials.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<Secret>) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
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

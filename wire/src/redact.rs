//! Values that must never reach a log, an error message or `Debug` output.
//!
//! Two kinds of text carry credentials in signpost's world:
//!
//! - a secret on its own (a secret access key, a session token, a signature): [`Secret`], whose
//!   `Debug` is `******` and which has no `Display` at all;
//! - a URL whose query may carry a signature or a token (a presigned URL): [`SignedUrl`], whose
//!   `Debug` and `Display` show it with those parameters replaced by `******`, and whose
//!   [`as_str`](SignedUrl::as_str) gives the text to send.
//!
//! Types holding these derive `Debug` and stay safe to print.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a redacted value prints as.
pub const REDACTED: &str = "******";

/// A secret string. `Debug` prints `******`; there is no `Display`, so it cannot be formatted
/// into a message by accident. [`expose`](Self::expose) gives the value to the code that signs.
///
/// ```
/// use signpost_wire::Secret;
/// let s = Secret::from("wJalrXUtnFEMI/K7MDENG");
/// assert_eq!(format!("{s:?}"), "******");
/// assert_eq!(s.expose(), "wJalrXUtnFEMI/K7MDENG");
/// ```
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// No characters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Query parameter and form field names whose values are credentials.
pub fn is_secret_name(name: &str) -> bool {
    const SECRET: [&str; 6] = [
        "x-amz-signature",
        "x-amz-security-token",
        "authorization",
        "signature",
        "awsaccesskeyid",
        "x-amz-credential",
    ];
    SECRET.iter().any(|s| s.eq_ignore_ascii_case(name))
}

/// Replaces the values of credential query parameters (`X-Amz-Signature`,
/// `X-Amz-Security-Token`, `X-Amz-Credential`, SigV2's `Signature`) with `******`, so a URL can be
/// logged or shown in an error.
///
/// ```
/// let u = "https://b.s3.amazonaws.com/k?X-Amz-Date=20130524T000000Z&X-Amz-Signature=aeeed9bbccd4";
/// assert_eq!(
///     signpost_wire::redact_url(u),
///     "https://b.s3.amazonaws.com/k?X-Amz-Date=20130524T000000Z&X-Amz-Signature=******"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    write_redacted(&mut out, url);
    out
}

fn write_redacted(out: &mut String, url: &str) {
    let Some((base, rest)) = url.split_once('?') else {
        out.push_str(url);
        return;
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    out.push_str(base);
    out.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((name, _)) if is_secret_name(&decode_name(name)) => {
                out.push_str(name);
                out.push('=');
                out.push_str(REDACTED);
            }
            _ => out.push_str(pair),
        }
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
}

/// A parameter name as a server reads it (`X-Amz-%53ignature` is `X-Amz-Signature`), so a
/// spelling trick cannot smuggle a signature past the redaction.
fn decode_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains(['%', '+']) {
        url::form_urlencoded::parse(name.as_bytes())
            .next()
            .map(|(k, _)| std::borrow::Cow::Owned(k.into_owned()))
            .unwrap_or(std::borrow::Cow::Borrowed(name))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// A URL that may carry credentials in its query string: a presigned URL, or a plain one.
///
/// [`as_str`](Self::as_str) is the exact text to request (a presigned URL is sent byte for byte).
/// `Debug` and `Display` show it with the signature, token and credential redacted, so it can go
/// into logs and error messages as it is. In JSON it is a plain string.
///
/// ```
/// use signpost_wire::SignedUrl;
/// let u = SignedUrl::from("http://h/b/k?X-Amz-Date=20240101T000000Z&X-Amz-Signature=abc123");
/// assert_eq!(u.to_string(), "http://h/b/k?X-Amz-Date=20240101T000000Z&X-Amz-Signature=******");
/// assert!(u.as_str().ends_with("abc123"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SignedUrl(String);

impl SignedUrl {
    /// The URL exactly as it must be requested.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL text.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for SignedUrl {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for SignedUrl {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<String> for SignedUrl {
    fn from(s: String) -> Self {
        SignedUrl(s)
    }
}

impl From<&str> for SignedUrl {
    fn from(s: &str) -> Self {
        SignedUrl(s.to_owned())
    }
}

impl PartialEq<str> for SignedUrl {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for SignedUrl {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(self.0.len());
        write_redacted(&mut s, &self.0);
        f.write_str(&s)
    }
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&redact_url(&self.0), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_spelled_out_signature_name_is_still_redacted() {
        let u = "http://h/k?X-Amz-%53ignature=SECRET1&x-amz-security-token=SECRET2&a=1#frag";
        let r = redact_url(u);
        assert!(!r.contains("SECRET"), "{r}");
        assert!(r.ends_with("&a=1#frag"), "{r}");
        assert_eq!(redact_url("http://h/k"), "http://h/k");
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let s = Secret::new("topsecret");
        assert!(!format!("{s:?}").contains("topsecret"));
        let u = SignedUrl::from("http://h/k?X-Amz-Signature=topsecret");
        assert!(!format!("{u:?}").contains("topsecret"));
        assert!(!format!("{u}").contains("topsecret"));
        assert!(u.as_str().contains("topsecret"));
    }

    /// The credential parameters, written here from AWS's documentation (SigV4 query auth, SigV2
    /// query auth, the Authorization header's name as a parameter), not from the code under test.
    const CREDENTIAL_NAMES: [&str; 6] = [
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "X-Amz-Credential",
        "Signature",
        "AWSAccessKeyId",
        "Authorization",
    ];

    /// A parameter name: one of the credential names in any letter case, or another name.
    fn name() -> impl Strategy<Value = (String, bool)> {
        prop_oneof![
            (
                0..CREDENTIAL_NAMES.len(),
                proptest::collection::vec(any::<bool>(), 32)
            )
                .prop_map(|(i, upper)| {
                    let n: String = CREDENTIAL_NAMES[i]
                        .chars()
                        .zip(upper)
                        .map(|(c, u)| {
                            if u {
                                c.to_ascii_uppercase()
                            } else {
                                c.to_ascii_lowercase()
                            }
                        })
                        .collect();
                    (n, true)
                }),
            "[a-zA-Z-]{1,16}"
                .prop_filter("not a credential name", |n| !CREDENTIAL_NAMES
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(n)))
                .prop_map(|n| (n, false)),
        ]
    }

    proptest! {
        #[test]
        fn redaction_keeps_everything_but_credential_values(
            path in "[a-z/]{0,10}",
            params in proptest::collection::vec((name(), "[a-zA-Z0-9]{0,12}"), 0..6),
        ) {
            let query: Vec<String> = params.iter().map(|((k, _), v)| format!("{k}={v}")).collect();
            let expected: Vec<String> = params
                .iter()
                .map(|((k, secret), v)| if *secret { format!("{k}=******") } else { format!("{k}={v}") })
                .collect();
            let url = format!("http://h/{path}?{}", query.join("&"));
            prop_assert_eq!(redact_url(&url), format!("http://h/{path}?{}", expected.join("&")));
        }
    }
}

//! Verifying a POST form (browser-based upload): its fields, signature and policy.

use signpost_wire::amz_date::parse_amz_date;
use signpost_wire::limits::MAX_CLOCK_SKEW_SECS;
use signpost_wire::{CredentialScope, PolicyDocument};
use time::{Duration, OffsetDateTime};

use super::{BodyRules, Verifier, VerifyError, ct_eq};
use crate::uri_encode::hex_into;

/// What was verified: a receiver stores the file under [`key`](Self::key) and applies
/// [`fields`](Self::fields), never its own second reading of the form.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedForm {
    /// The object key (`${filename}` already substituted by the receiver).
    pub key: String,
    /// The fields as verified, in the order received; each name once.
    pub fields: Vec<(String, String)>,
    /// The policy the signature covers.
    pub policy: PolicyDocument,
    /// What the file part must satisfy (`content-length-range`).
    pub body: BodyRules,
}

impl VerifiedForm {
    /// A field's value (names are case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The bucket a POST URL names: the first path segment (path style) or the first host label.
fn bucket_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let first = parsed.path_segments()?.next().unwrap_or("");
    if !first.is_empty() {
        return url::form_urlencoded::parse(format!("b={first}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned());
    }
    parsed
        .host_str()
        .and_then(|h| h.split('.').next())
        .map(str::to_owned)
}

impl Verifier {
    /// Verifies a POST form posted to `url`: its fields in the order received (the file part
    /// excluded, `${filename}` in `key` already replaced by the file's name, as S3 does before
    /// checking the policy), judged at `now`. The file's size is checked by the receiver with
    /// the returned [`BodyRules`].
    pub fn verify_post<'a>(
        &self,
        url: &str,
        fields: impl IntoIterator<Item = (&'a str, &'a str)>,
        now: OffsetDateTime,
    ) -> Result<VerifiedForm, VerifyError> {
        let fields: Vec<(&str, &str)> = fields.into_iter().collect();
        for (i, (name, _)) in fields.iter().enumerate() {
            if fields[..i]
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                return Err(VerifyError::DuplicateField((*name).to_owned()));
            }
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let need = |name: &'static str| get(name).ok_or(VerifyError::MissingField(name));
        let policy_b64 = need("policy")?;
        let scope = CredentialScope::parse(need("x-amz-credential")?)?;
        self.check_scope(need("x-amz-algorithm")?, &scope)?;
        let date_raw = need("x-amz-date")?;
        let date = parse_amz_date(date_raw).ok_or_else(|| {
            VerifyError::BadScope(format!("x-amz-date `{date_raw}` is not YYYYMMDDTHHMMSSZ"))
        })?;
        if !date_raw.starts_with(&scope.date) {
            return Err(VerifyError::BadScope(format!(
                "scope date {} differs from x-amz-date {date_raw}",
                scope.date
            )));
        }
        if date - now > Duration::seconds(MAX_CLOCK_SKEW_SECS) {
            return Err(VerifyError::NotYetValid { date });
        }
        self.check_token(get("x-amz-security-token"))?;
        let mut expected = String::with_capacity(64);
        hex_into(
            &mut expected,
            &self.day(&scope.date).mac.sign(&[policy_b64.as_bytes()]),
        );
        if !ct_eq(&expected, need("x-amz-signature")?) {
            return Err(VerifyError::SignatureDoesNotMatch {
                canonical_request: String::new(),
                string_to_sign: policy_b64.to_owned(),
            });
        }
        let policy = PolicyDocument::from_base64(policy_b64)?;
        let key = need("key")?.to_owned();
        // An unreadable URL names no bucket, and then a `$bucket` condition fails.
        let bucket = bucket_of(url).unwrap_or_default();
        policy.check_form(fields.iter().copied(), Some(&bucket), None, Some(now))?;
        let body = BodyRules {
            length: None,
            length_range: policy.content_length_range(),
            content_md5: None,
        };
        Ok(VerifiedForm {
            key,
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            policy,
            body,
        })
    }
}

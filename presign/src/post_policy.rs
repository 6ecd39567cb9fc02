//! Browser-based uploads with POST: a signed policy and the form fields that go with it.
//!
//! The form is posted as `multipart/form-data` to the bucket's URL, fields first and the file
//! last. S3 checks the policy's signature, its expiration and every condition, and refuses a
//! field that no condition names. [`PostPolicyBuilder::build`] checks its own output against the
//! same rules ([`PolicyDocument::check_form`]) before returning it.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html> and
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-post-example.html>.
//!
//! ```
//! use signpost_presign::{Credentials, Endpoint, Presigner};
//! let presigner = Presigner::new(
//!     Credentials::new("minioadmin", "minioadmin"),
//!     Endpoint::custom("http://127.0.0.1:9000", "us-east-1")?,
//! );
//! let form = presigner
//!     .post_policy("videos")
//!     .key_starts_with("job-42/")
//!     .content_length_range(1, 10 << 30)
//!     .success_action_status(201)
//!     .build()?;
//! assert_eq!(form.url, "http://127.0.0.1:9000/videos");
//! assert_eq!(form.fields.get("key"), Some("job-42/${filename}"));
//! assert!(form.fields.get("x-amz-signature").is_some());
//! # Ok::<(), signpost_presign::PresignError>(())
//! ```

use signpost_wire::amz_date::format_amz_date;
use signpost_wire::{
    Condition, OrderedPairs, PolicyDocument, RunnerJobCustomUpload, SignedUrl, UploadMethod,
};

use crate::canonical_request::ALGORITHM;
use crate::endpoint::validate_key;
use crate::error::PresignError;
use crate::presigner::Presigner;
use crate::uri_encode::hex_into;
use crate::validity::Validity;

#[derive(Clone, Debug)]
enum Rule {
    Eq(String),
    StartsWith(String),
}

/// Builds a POST policy and its form. Start from [`Presigner::post_policy`].
#[derive(Debug)]
pub struct PostPolicyBuilder<'a> {
    presigner: &'a Presigner,
    bucket: String,
    key: Option<Rule>,
    content_type: Option<Rule>,
    length: Option<(u64, u64)>,
    status: Option<u16>,
    redirect: Option<String>,
    extra: Vec<(String, Rule, String)>,
    validity: Validity,
}

/// A signed POST form: where to post and the fields to send before the file.
///
/// `Debug` redacts the signature and the session token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostForm {
    /// The bucket's URL.
    pub url: SignedUrl,
    /// The form fields, in the order to send them; the file part goes after them.
    pub fields: OrderedPairs,
    /// The policy the form carries (also in `fields` as base64).
    pub policy: PolicyDocument,
    /// The statuses S3 answers on success for this form.
    pub expected_status_codes: Vec<u16>,
}

impl PostForm {
    /// The upload descriptor: `{ url, method: "POST", fields, expectedStatusCodes }`.
    pub fn to_descriptor(&self) -> RunnerJobCustomUpload {
        let mut d = RunnerJobCustomUpload::new(self.url.clone(), UploadMethod::Post);
        d.fields = self.fields.clone();
        d.expected_status_codes = self.expected_status_codes.clone();
        d
    }
}

impl Presigner {
    /// Starts a POST policy for `bucket`, expiring in one hour.
    pub fn post_policy(&self, bucket: impl Into<String>) -> PostPolicyBuilder<'_> {
        PostPolicyBuilder {
            presigner: self,
            bucket: bucket.into(),
            key: None,
            content_type: None,
            length: None,
            status: None,
            redirect: None,
            extra: Vec::new(),
            validity: Validity::default(),
        }
    }
}

impl PostPolicyBuilder<'_> {
    /// The object key, exactly.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(Rule::Eq(key.into()));
        self
    }

    /// Any key starting with `prefix`. The form's `key` field is `prefix${filename}`: S3 (and
    /// signpost's uploader) replace `${filename}` with the uploaded file's name.
    pub fn key_starts_with(mut self, prefix: impl Into<String>) -> Self {
        self.key = Some(Rule::StartsWith(prefix.into()));
        self
    }

    /// The file's size must be within `min..=max` bytes.
    pub fn content_length_range(mut self, min: u64, max: u64) -> Self {
        self.length = Some((min, max));
        self
    }

    /// `Content-Type`, exactly.
    pub fn content_type(mut self, v: impl Into<String>) -> Self {
        self.content_type = Some(Rule::Eq(v.into()));
        self
    }

    /// `Content-Type` starting with `prefix` (e.g. `video/`). The form sends `prefix` until the
    /// uploader replaces it with the file's type.
    pub fn content_type_starts_with(mut self, prefix: impl Into<String>) -> Self {
        self.content_type = Some(Rule::StartsWith(prefix.into()));
        self
    }

    /// `success_action_status`: 200, 201 (S3 answers an XML `PostResponse`) or 204 (S3's default).
    pub fn success_action_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// `success_action_redirect`: S3 answers 303 to this URL on success.
    pub fn success_action_redirect(mut self, url: impl Into<String>) -> Self {
        self.redirect = Some(url.into());
        self
    }

    /// User metadata `x-amz-meta-NAME`, exactly.
    pub fn meta(self, name: &str, value: impl Into<String>) -> Self {
        self.field(format!("x-amz-meta-{name}"), value)
    }

    /// `x-amz-checksum-sha256`: the file's base64 SHA-256, which S3 verifies.
    pub fn checksum_sha256(self, base64: impl Into<String>) -> Self {
        self.field("x-amz-checksum-sha256", base64)
    }

    /// Any other field (`acl`, `Cache-Control`, `x-amz-storage-class`, `tagging`, …), sent with
    /// `value` and required to equal it.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let v = value.into();
        self.extra.push((name.into(), Rule::Eq(v.clone()), v));
        self
    }

    /// Any other field, sent with `value` and required to start with `prefix`.
    pub fn field_starts_with(
        mut self,
        name: impl Into<String>,
        prefix: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.extra
            .push((name.into(), Rule::StartsWith(prefix.into()), value.into()));
        self
    }

    /// When the policy is signed and how long it is accepted (default: now, one hour).
    pub fn validity(mut self, v: Validity) -> Self {
        self.validity = v;
        self
    }

    /// Builds the policy, signs it, and returns the form.
    pub fn build(self) -> Result<PostForm, PresignError> {
        let p = self.presigner;
        let endpoint = p.endpoint();
        endpoint.validate_bucket(&self.bucket)?;
        let Some(key) = self.key.clone() else {
            return Err(PresignError::PolicyWithoutKey);
        };
        let key_value = match &key {
            Rule::Eq(k) => {
                validate_key(k)?;
                k.clone()
            }
            Rule::StartsWith(prefix) => format!("{prefix}${{filename}}"),
        };
        if let Some((min, max)) = self.length
            && min > max
        {
            return Err(PresignError::LengthRangeInverted { min, max });
        }
        if let Some(s) = self.status
            && ![200, 201, 204].contains(&s)
        {
            return Err(PresignError::SuccessStatus(s));
        }
        let guard = p.current.load();
        let creds = &crate::signing_credentials::loaded(&guard)?.credentials;
        let window = self.validity.window_for(creds.expires_at())?;
        let at = window.signed_at;
        let expiration = window.expires_at;
        let amz_date_bytes = format_amz_date(at);
        let amz_date = std::str::from_utf8(&amz_date_bytes).unwrap_or_default();
        let date: [u8; 8] = amz_date_bytes[..8].try_into().unwrap_or([b'0'; 8]);
        let day = p.day_scope(creds, &date);
        let credential = format!("{}/{}", creds.access_key_id(), day.scope);

        let mut fields = OrderedPairs::default();
        let mut conditions = vec![Condition::Eq {
            field: "bucket".into(),
            value: self.bucket.clone(),
        }];
        let mut add = |fields: &mut OrderedPairs, name: &str, rule: &Rule, value: &str| {
            fields.push(name, value);
            conditions.push(match rule {
                Rule::Eq(v) => Condition::Eq {
                    field: name.to_ascii_lowercase(),
                    value: v.clone(),
                },
                Rule::StartsWith(prefix) => Condition::StartsWith {
                    field: name.to_ascii_lowercase(),
                    prefix: prefix.clone(),
                },
            });
        };
        add(&mut fields, "key", &key, &key_value);
        if let Some(ct) = &self.content_type {
            let v = match ct {
                Rule::Eq(v) | Rule::StartsWith(v) => v,
            };
            add(&mut fields, "Content-Type", ct, v);
        }
        if let Some(s) = self.status {
            add(
                &mut fields,
                "success_action_status",
                &Rule::Eq(s.to_string()),
                &s.to_string(),
            );
        }
        if let Some(r) = &self.redirect {
            add(
                &mut fields,
                "success_action_redirect",
                &Rule::Eq(r.clone()),
                r,
            );
        }
        for (name, rule, value) in &self.extra {
            check_field_name(name)?;
            if fields.get(name).is_some() {
                return Err(PresignError::FieldGivenTwice(name.clone()));
            }
            add(&mut fields, name, rule, value);
        }
        add(
            &mut fields,
            "x-amz-algorithm",
            &Rule::Eq(ALGORITHM.into()),
            ALGORITHM,
        );
        add(
            &mut fields,
            "x-amz-credential",
            &Rule::Eq(credential.clone()),
            &credential,
        );
        add(
            &mut fields,
            "x-amz-date",
            &Rule::Eq(amz_date.into()),
            amz_date,
        );
        if let Some(token) = creds.session_token() {
            add(
                &mut fields,
                "x-amz-security-token",
                &Rule::Eq(token.into()),
                token,
            );
        }
        if let Some((min, max)) = self.length {
            conditions.push(Condition::ContentLengthRange { min, max });
        }
        let policy = PolicyDocument {
            expiration,
            conditions,
        };
        // What S3 will check, checked here first: every field is covered and satisfied.
        policy
            .check_form(fields.iter(), Some(&self.bucket), None, Some(at))
            .map_err(PresignError::FormBreaksPolicy)?;
        let policy_b64 = policy.to_base64();
        let signature = day.mac.sign(&[policy_b64.as_bytes()]);
        let mut sig_hex = String::with_capacity(64);
        hex_into(&mut sig_hex, &signature);
        fields.push("policy", policy_b64);
        fields.push("x-amz-signature", sig_hex);

        let mut url = format!(
            "{}://{}",
            endpoint.scheme(),
            endpoint.host_for(&self.bucket)
        );
        endpoint.write_path(&mut url, &self.bucket, "");
        let status = self.status.unwrap_or(204);
        let expected_status_codes = match (&self.redirect, self.status) {
            (Some(_), _) => vec![303, status],
            (None, Some(s)) => vec![s],
            (None, None) => signpost_wire::DEFAULT_EXPECTED_STATUS_CODES.to_vec(),
        };
        Ok(PostForm {
            url: url.into(),
            fields,
            policy,
            expected_status_codes,
        })
    }
}

fn check_field_name(name: &str) -> Result<(), PresignError> {
    let lower = name.to_ascii_lowercase();
    const OWN: [&str; 9] = [
        "key",
        "policy",
        "file",
        "x-amz-signature",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-security-token",
        "bucket",
    ];
    if OWN.contains(&lower.as_str()) {
        return Err(PresignError::FieldSetByBuilder(name.to_owned()));
    }
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_control() || b == b'"') {
        return Err(PresignError::InvalidFieldName(name.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Credentials, Endpoint};
    use time::macros::datetime;

    fn p() -> Presigner {
        Presigner::new(
            Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )
            .with_session_token("TOKEN"),
            Endpoint::aws("us-east-1").unwrap(),
        )
    }

    #[test]
    fn fields_are_ordered_and_covered() {
        let f = p()
            .post_policy("sigv4examplebucket")
            .key("user/user1/a.mp4")
            .content_type_starts_with("video/")
            .success_action_status(201)
            .meta("uuid", "14365123651274")
            .content_length_range(1, 100)
            .validity(
                Validity::default()
                    .signed_at(datetime!(2015-12-29 0:00 UTC))
                    .unwrap(),
            )
            .build()
            .unwrap();
        let names: Vec<_> = f.fields.iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "key",
                "Content-Type",
                "success_action_status",
                "x-amz-meta-uuid",
                "x-amz-algorithm",
                "x-amz-credential",
                "x-amz-date",
                "x-amz-security-token",
                "policy",
                "x-amz-signature"
            ]
        );
        assert_eq!(
            f.url,
            "https://sigv4examplebucket.s3.us-east-1.amazonaws.com/"
        );
        assert_eq!(f.expected_status_codes, vec![201]);
        assert_eq!(f.policy.expiration, datetime!(2015-12-29 1:00 UTC));
        let d = f.to_descriptor();
        assert!(d.validate().is_ok());
        assert!(!format!("{f:?}").contains(f.fields.get("x-amz-signature").unwrap()));
    }

    #[test]
    fn refusals() {
        let e = p().post_policy("bucket").build().unwrap_err();
        assert!(e.to_string().contains("key"));
        let e = p()
            .post_policy("bucket")
            .key("k")
            .success_action_status(302)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("302"));
        let e = p()
            .post_policy("bucket")
            .key("k")
            .content_length_range(5, 1)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("exceeds"));
        let e = p()
            .post_policy("bucket")
            .key("k")
            .field("policy", "x")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("builder"));
    }
}

//! The POST policy document of a browser-based upload, and its evaluation.
//!
//! A POST policy is JSON, base64-encoded into the `policy` form field and signed:
//!
//! ```json
//! { "expiration": "2015-12-30T12:00:00.000Z",
//!   "conditions": [ {"bucket": "sigv4examplebucket"},
//!                   ["starts-with", "$key", "user/user1/"],
//!                   ["content-length-range", 1048576, 10485760] ] }
//! ```
//!
//! [`PolicyDocument::check_form`] applies S3's rules to a form: the policy has not expired, each
//! condition holds, the file size is in range, and every field sent (except `x-amz-signature`,
//! `file`, `policy` and `x-ignore-*`) is named by a condition.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use time::OffsetDateTime;

use crate::amz_date::{format_policy_expiration, parse_rfc3339};
use crate::condition::Condition;

/// A parsed POST policy: when it expires and what a form must satisfy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyDocument {
    /// After this instant S3 refuses the form.
    pub expiration: OffsetDateTime,
    /// The conditions, in document order.
    pub conditions: Vec<Condition>,
}

/// A policy that does not parse.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// The `policy` field is not base64.
    #[error("the POST policy is not valid base64")]
    Base64,
    /// Not a JSON object of the policy's shape.
    #[error("the POST policy is not valid JSON: {0}")]
    Json(String),
    /// `expiration` missing or not ISO 8601.
    #[error(
        "the POST policy's `expiration` is missing or not an ISO 8601 time (e.g. 2015-12-30T12:00:00.000Z)"
    )]
    Expiration,
    /// A condition is malformed.
    #[error("the POST policy's condition #{index} is invalid: {reason}")]
    Condition {
        /// 0-based position in `conditions`.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Why S3 would refuse a form under its policy.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// `now` is past `expiration`.
    #[error("the POST policy expired at {}; ask the server for a new upload target", format_policy_expiration(*.expiration))]
    Expired {
        /// The policy's expiration.
        expiration: OffsetDateTime,
    },
    /// An `eq` or `starts-with` condition does not hold.
    #[error("POST policy condition {condition} failed: form field `{field}` is {}", show_actual(.actual))]
    ConditionFailed {
        /// The condition, as JSON.
        condition: String,
        /// The field it names.
        field: String,
        /// The value sent, if any.
        actual: Option<String>,
    },
    /// A field was sent that no condition names.
    #[error(
        "form field `{field}` is not named by any POST policy condition; S3 refuses fields the policy does not cover"
    )]
    FieldNotInPolicy {
        /// The uncovered field.
        field: String,
    },
    /// The file is larger than `content-length-range` allows.
    #[error(
        "the file is {size} bytes, over the POST policy's content-length-range maximum of {max} bytes"
    )]
    TooLarge {
        /// The file's size.
        size: u64,
        /// The maximum.
        max: u64,
    },
    /// The file is smaller than `content-length-range` allows.
    #[error(
        "the file is {size} bytes, under the POST policy's content-length-range minimum of {min} bytes"
    )]
    TooSmall {
        /// The file's size.
        size: u64,
        /// The minimum.
        min: u64,
    },
}

fn show_actual(a: &Option<String>) -> String {
    match a {
        Some(v) => format!("{v:?}"),
        None => "missing".to_owned(),
    }
}

impl PolicyViolation {
    /// The S3 error code AWS answers for this violation.
    pub fn s3_code(&self) -> &'static str {
        match self {
            PolicyViolation::Expired { .. } | PolicyViolation::FieldNotInPolicy { .. } => {
                "AccessDenied"
            }
            PolicyViolation::ConditionFailed { .. } => "AccessDenied",
            PolicyViolation::TooLarge { .. } => "EntityTooLarge",
            PolicyViolation::TooSmall { .. } => "EntityTooSmall",
        }
    }
}

/// Fields S3 does not require a condition for.
pub fn is_exempt_field(name: &str) -> bool {
    ["x-amz-signature", "file", "policy"]
        .iter()
        .any(|e| e.eq_ignore_ascii_case(name))
        || name
            .get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("x-ignore-"))
}

impl PolicyDocument {
    /// The JSON text, conditions as arrays in order, expiration with milliseconds.
    pub fn to_json(&self) -> String {
        let conditions: Vec<Value> = self.conditions.iter().map(Condition::to_json).collect();
        let mut m = serde_json::Map::new();
        m.insert(
            "expiration".into(),
            format_policy_expiration(self.expiration).into(),
        );
        m.insert("conditions".into(), Value::Array(conditions));
        Value::Object(m).to_string()
    }

    /// The `policy` form field: the JSON, base64-encoded.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.to_json())
    }

    /// Parses policy JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, PolicyError> {
        let v: Value =
            serde_json::from_slice(json).map_err(|e| PolicyError::Json(e.to_string()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| PolicyError::Json("not an object".into()))?;
        let expiration = obj
            .get("expiration")
            .and_then(Value::as_str)
            .and_then(parse_rfc3339)
            .ok_or(PolicyError::Expiration)?;
        let raw = obj
            .get("conditions")
            .and_then(Value::as_array)
            .ok_or_else(|| PolicyError::Json("`conditions` is missing or not an array".into()))?;
        let conditions = raw
            .iter()
            .enumerate()
            .map(|(index, c)| {
                Condition::from_json(c).map_err(|reason| PolicyError::Condition { index, reason })
            })
            .collect::<Result<_, _>>()?;
        Ok(PolicyDocument {
            expiration,
            conditions,
        })
    }

    /// Parses the base64 `policy` form field.
    pub fn from_base64(b64: &str) -> Result<Self, PolicyError> {
        let json = BASE64
            .decode(b64.trim().as_bytes())
            .map_err(|_| PolicyError::Base64)?;
        Self::from_json(&json)
    }

    /// The value an `eq` condition requires for `field`, if there is one.
    pub fn eq_value(&self, field: &str) -> Option<&str> {
        self.conditions.iter().find_map(|c| match c {
            Condition::Eq { field: f, value } if f.eq_ignore_ascii_case(field) => {
                Some(value.as_str())
            }
            _ => None,
        })
    }

    /// The `content-length-range`, if any.
    pub fn content_length_range(&self) -> Option<(u64, u64)> {
        self.conditions.iter().find_map(|c| match c {
            Condition::ContentLengthRange { min, max } => Some((*min, *max)),
            _ => None,
        })
    }

    /// Applies S3's rules to a form.
    ///
    /// - `fields`: the form fields as sent (names case-insensitive).
    /// - `bucket`: the bucket the form is posted to (from the URL); it answers `$bucket`.
    ///   `None` when it is not known (a runner's pre-flight): `$bucket` conditions are skipped.
    /// - `file_len`: the file's size, if known; `None` skips `content-length-range`.
    /// - `now`: the time to judge expiration at; `None` skips it.
    ///
    /// The first violation found is returned, in this order: expiration, uncovered fields,
    /// conditions in document order.
    pub fn check_form<'a>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
        bucket: Option<&str>,
        file_len: Option<u64>,
        now: Option<OffsetDateTime>,
    ) -> Result<(), PolicyViolation> {
        if let Some(now) = now
            && now > self.expiration
        {
            return Err(PolicyViolation::Expired {
                expiration: self.expiration,
            });
        }
        for (name, _) in fields.clone() {
            if is_exempt_field(name) {
                continue;
            }
            let covered = self
                .conditions
                .iter()
                .any(|c| c.field().is_some_and(|f| f.eq_ignore_ascii_case(name)));
            if !covered {
                return Err(PolicyViolation::FieldNotInPolicy {
                    field: name.to_owned(),
                });
            }
        }
        let lookup = |field: &str| -> Option<String> {
            if field == "bucket"
                && let Some(b) = bucket
            {
                return Some(b.to_owned());
            }
            // (`bucket` is None here only for non-bucket fields: bucket conditions were skipped.)
            fields
                .clone()
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(field))
                .map(|(_, v)| v.to_owned())
        };
        for c in &self.conditions {
            if bucket.is_none() && c.field() == Some("bucket") {
                continue;
            }
            match c {
                Condition::Eq { field, value } => {
                    let actual = lookup(field);
                    if actual.as_deref() != Some(value.as_str()) {
                        return Err(PolicyViolation::ConditionFailed {
                            condition: c.to_string(),
                            field: field.clone(),
                            actual,
                        });
                    }
                }
                Condition::StartsWith { field, prefix } => {
                    let actual = lookup(field);
                    // A missing field is judged as the empty string: `starts-with ""` admits it.
                    if !actual.as_deref().unwrap_or("").starts_with(prefix.as_str()) {
                        return Err(PolicyViolation::ConditionFailed {
                            condition: c.to_string(),
                            field: field.clone(),
                            actual,
                        });
                    }
                }
                Condition::ContentLengthRange { min, max } => {
                    if let Some(size) = file_len {
                        if size > *max {
                            return Err(PolicyViolation::TooLarge { size, max: *max });
                        }
                        if size < *min {
                            return Err(PolicyViolation::TooSmall { size, min: *min });
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn doc() -> PolicyDocument {
        PolicyDocument {
            expiration: datetime!(2030-01-01 0:00 UTC),
            conditions: vec![
                Condition::Eq {
                    field: "bucket".into(),
                    value: "b".into(),
                },
                Condition::StartsWith {
                    field: "key".into(),
                    prefix: "user/".into(),
                },
                Condition::StartsWith {
                    field: "content-type".into(),
                    prefix: "video/".into(),
                },
                Condition::ContentLengthRange { min: 1, max: 10 },
            ],
        }
    }

    #[test]
    fn json_round_trip_and_aws_object_form() {
        let d = doc();
        assert_eq!(PolicyDocument::from_base64(&d.to_base64()).unwrap(), d);
        let aws = br#"{ "expiration": "2015-12-30T12:00:00.000Z",
          "conditions": [ {"bucket": "sigv4examplebucket"}, ["starts-with", "$key", "user/user1/"],
            {"acl": "public-read"}, ["content-length-range", "1", "10"] ] }"#;
        let p = PolicyDocument::from_json(aws).unwrap();
        assert_eq!(p.eq_value("bucket"), Some("sigv4examplebucket"));
        assert_eq!(p.content_length_range(), Some((1, 10)));
        assert_eq!(p.expiration, datetime!(2015-12-30 12:00 UTC));
    }

    #[test]
    fn malformed_policies_are_named() {
        assert_eq!(PolicyDocument::from_base64("!!"), Err(PolicyError::Base64));
        assert_eq!(
            PolicyDocument::from_json(br#"{"conditions":[]}"#),
            Err(PolicyError::Expiration)
        );
        let e = PolicyDocument::from_json(
            br#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["in","$key","a"]]}"#,
        );
        assert!(matches!(e, Err(PolicyError::Condition { index: 0, .. })));
        let e = PolicyDocument::from_json(
            br#"{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",5,1]]}"#,
        );
        assert!(matches!(e, Err(PolicyError::Condition { index: 0, .. })));
    }

    #[test]
    fn check_form_applies_each_rule() {
        let d = doc();
        let ok = [
            ("key", "user/a.mp4"),
            ("Content-Type", "video/mp4"),
            ("x-amz-signature", "s"),
        ];
        let now = Some(datetime!(2029-01-01 0:00 UTC));
        assert_eq!(d.check_form(ok, Some("b"), Some(5), now), Ok(()));
        assert!(matches!(
            d.check_form(
                ok,
                Some("b"),
                Some(5),
                Some(datetime!(2030-01-01 0:00:01 UTC))
            ),
            Err(PolicyViolation::Expired { .. })
        ));
        assert!(matches!(
            d.check_form(ok, Some("other"), Some(5), now),
            Err(PolicyViolation::ConditionFailed { ref field, .. }) if field == "bucket"
        ));
        let bad_key = [("key", "admin/a.mp4"), ("Content-Type", "video/mp4")];
        let e = d.check_form(bad_key, Some("b"), Some(5), now).unwrap_err();
        assert!(
            e.to_string().contains(r#"["starts-with","$key","user/"]"#),
            "{e}"
        );
        assert_eq!(
            d.check_form(ok, Some("b"), Some(11), now),
            Err(PolicyViolation::TooLarge { size: 11, max: 10 })
        );
        assert_eq!(
            d.check_form(ok, Some("b"), Some(0), now),
            Err(PolicyViolation::TooSmall { size: 0, min: 1 })
        );
        let extra = [
            ("key", "user/a"),
            ("Content-Type", "video/x"),
            ("acl", "public-read"),
        ];
        assert_eq!(
            d.check_form(extra, Some("b"), Some(5), now),
            Err(PolicyViolation::FieldNotInPolicy {
                field: "acl".into()
            })
        );
        let ignored = [
            ("key", "user/a"),
            ("Content-Type", "video/x"),
            ("X-Ignore-me", "1"),
        ];
        assert_eq!(d.check_form(ignored, Some("b"), Some(5), now), Ok(()));
    }

    proptest! {
        #[test]
        fn arbitrary_policy_text_never_panics(s in ".{0,200}") {
            let _ = PolicyDocument::from_json(s.as_bytes());
            let _ = PolicyDocument::from_base64(&s);
        }

        #[test]
        fn generated_conditions_round_trip(
            fields in proptest::collection::vec(("[a-z][a-z0-9-]{0,10}", ".{0,10}", any::<bool>()), 0..6),
            range in proptest::option::of((0u64..1000, 0u64..1000)),
        ) {
            let mut conditions: Vec<Condition> = fields.into_iter().map(|(f, v, eq)| if eq {
                Condition::Eq { field: f, value: v }
            } else {
                Condition::StartsWith { field: f, prefix: v }
            }).collect();
            if let Some((a, b)) = range {
                conditions.push(Condition::ContentLengthRange { min: a.min(b), max: a.max(b) });
            }
            let d = PolicyDocument { expiration: datetime!(2031-02-03 4:05:06.789 UTC), conditions };
            prop_assert_eq!(PolicyDocument::from_base64(&d.to_base64()).unwrap(), d);
        }
    }
}

//! One condition of a POST policy: `eq`, `starts-with` or `content-length-range`.
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html>
//! ("Condition matching").

use std::fmt;

use serde_json::Value;

/// One condition of a POST policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// `["eq", "$field", "value"]` or `{"field": "value"}`: the field equals `value` exactly.
    Eq {
        /// The form field, without `$`.
        field: String,
        /// The required value.
        value: String,
    },
    /// `["starts-with", "$field", "prefix"]`: the field starts with `prefix` (`""`: any value).
    StartsWith {
        /// The form field, without `$`.
        field: String,
        /// The required prefix.
        prefix: String,
    },
    /// `["content-length-range", min, max]`: the file's size in bytes, both ends inclusive.
    ContentLengthRange {
        /// Smallest size accepted.
        min: u64,
        /// Largest size accepted.
        max: u64,
    },
}

impl Condition {
    /// The form field this condition names (`None` for `content-length-range`).
    pub fn field(&self) -> Option<&str> {
        match self {
            Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => Some(field),
            Condition::ContentLengthRange { .. } => None,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        match self {
            Condition::Eq { field, value } => Value::Array(vec![
                "eq".into(),
                format!("${field}").into(),
                value.clone().into(),
            ]),
            Condition::StartsWith { field, prefix } => Value::Array(vec![
                "starts-with".into(),
                format!("${field}").into(),
                prefix.clone().into(),
            ]),
            Condition::ContentLengthRange { min, max } => Value::Array(vec![
                "content-length-range".into(),
                (*min).into(),
                (*max).into(),
            ]),
        }
    }

    pub(crate) fn from_json(v: &Value) -> Result<Condition, String> {
        match v {
            Value::Object(m) => {
                if m.len() != 1 {
                    return Err("an object condition has exactly one field".into());
                }
                let (k, v) = m.iter().next().ok_or("empty object condition")?;
                let value = v
                    .as_str()
                    .ok_or("an object condition's value is a string")?;
                Ok(Condition::Eq {
                    field: normalize(k),
                    value: value.to_owned(),
                })
            }
            Value::Array(items) if items.len() == 3 => {
                let op = items[0].as_str().ok_or("the operator is a string")?;
                match op.to_ascii_lowercase().as_str() {
                    "eq" | "starts-with" => {
                        let f = items[1].as_str().ok_or("the field is a string")?;
                        if !f.starts_with('$') {
                            return Err(format!("the field `{f}` must start with `$`"));
                        }
                        let val = items[2].as_str().ok_or("the value is a string")?.to_owned();
                        let field = normalize(f);
                        Ok(if op.eq_ignore_ascii_case("eq") {
                            Condition::Eq { field, value: val }
                        } else {
                            Condition::StartsWith { field, prefix: val }
                        })
                    }
                    "content-length-range" => {
                        let num = |v: &Value| {
                            v.as_u64()
                                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                                .ok_or("content-length-range bounds are non-negative integers")
                        };
                        let (min, max) = (num(&items[1])?, num(&items[2])?);
                        if min > max {
                            return Err(format!("content-length-range {min} > {max}"));
                        }
                        Ok(Condition::ContentLengthRange { min, max })
                    }
                    other => Err(format!("unknown operator `{other}`")),
                }
            }
            _ => Err("a condition is an object or a 3-element array".into()),
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json().to_string())
    }
}

fn normalize(field: &str) -> String {
    field
        .strip_prefix('$')
        .unwrap_or(field)
        .to_ascii_lowercase()
}

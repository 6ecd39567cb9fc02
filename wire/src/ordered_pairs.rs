//! Name/value pairs that keep their order: a descriptor's `fields` and `headers`.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::{REDACTED, is_secret_name};

/// Name/value pairs that keep their order; JSON shape: an object.
///
/// JSON objects are ordered in the text but many parsers forget the order. POST fields must be
/// sent before the file and are best sent as the signer listed them, so this type keeps document
/// order both ways. `Debug` shows credential values (`x-amz-signature`, `x-amz-security-token`,
/// `x-amz-credential`, …) as `******`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OrderedPairs(pub Vec<(String, String)>);

impl OrderedPairs {
    /// No pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The value of the first pair whose name equals `name`, ignoring ASCII case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Appends a pair.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// Sets the value of every pair named `name` (ignoring ASCII case); `false` if none is.
    pub fn set(&mut self, name: &str, value: &str) -> bool {
        let mut found = false;
        for (k, v) in &mut self.0 {
            if k.eq_ignore_ascii_case(name) {
                value.clone_into(v);
                found = true;
            }
        }
        found
    }

    /// The first name that appears twice, ignoring ASCII case.
    pub fn first_duplicate(&self) -> Option<&str> {
        self.0.iter().enumerate().find_map(|(i, (a, _))| {
            self.0[..i]
                .iter()
                .any(|(b, _)| a.eq_ignore_ascii_case(b))
                .then_some(a.as_str())
        })
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for OrderedPairs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        OrderedPairs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl fmt::Debug for OrderedPairs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&k, if is_secret_name(k) { &REDACTED } else { &v });
        }
        m.finish()
    }
}

impl Serialize for OrderedPairs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedPairs, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(OrderedPairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_finds_case_insensitive_duplicates() {
        let mut p: OrderedPairs = [("z", "1"), ("Key", "a"), ("a", "2")].into_iter().collect();
        assert_eq!(p.get("key"), Some("a"));
        assert_eq!(p.first_duplicate(), None);
        p.push("KEY", "b");
        assert_eq!(p.first_duplicate(), Some("KEY"));
        assert!(p.set("key", "c"));
        assert_eq!(p.iter().filter(|(_, v)| *v == "c").count(), 2);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, r#"{"z":"1","Key":"c","a":"2","KEY":"c"}"#);
    }

    #[test]
    fn debug_hides_credential_values() {
        let p: OrderedPairs = [
            ("x-amz-signature", "SIG"),
            ("X-Amz-Security-Token", "TOK"),
            ("key", "k"),
        ]
        .into_iter()
        .collect();
        let s = format!("{p:?}");
        assert!(!s.contains("SIG") && !s.contains("TOK"), "{s}");
        assert!(s.contains("\"k\""));
    }
}

//! S3's small XML documents, read flat: the root element's name and each leaf element's text.
//!
//! Enough for every S3 answer signpost reads: `<Error>` (Code, Message, RequestId),
//! `<InitiateMultipartUploadResult>` (UploadId), `<PostResponse>` (Location, Bucket, Key, ETag;
//! some servers call the root `PostObject`), `<CompleteMultipartUploadResult>`.

use quick_xml::Reader;
use quick_xml::events::Event;

/// A parsed S3 XML document.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct S3Xml {
    /// The root element's local name (`Error`, `PostResponse`, …).
    pub root: String,
    /// Leaf elements as (local name, text), in document order.
    pub leaves: Vec<(String, String)>,
}

impl S3Xml {
    /// The text of the first leaf named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.leaves
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Parses `xml`; `None` if it is not well-formed XML with a root element.
    ///
    /// ```
    /// let x = signpost_wire::s3_xml::S3Xml::parse(
    ///     "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    /// ).unwrap();
    /// assert_eq!(x.root, "Error");
    /// assert_eq!(x.get("Code"), Some("SlowDown"));
    /// ```
    pub fn parse(xml: &str) -> Option<S3Xml> {
        let mut reader = Reader::from_str(xml);
        let mut out = S3Xml::default();
        let mut stack: Vec<String> = Vec::new();
        let mut text = String::new();
        let mut had_child = false;
        loop {
            match reader.read_event().ok()? {
                Event::Start(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    if stack.is_empty() {
                        if !out.root.is_empty() {
                            return None;
                        }
                        out.root = name.clone();
                    }
                    stack.push(name);
                    text.clear();
                    had_child = false;
                }
                Event::Empty(e) => {
                    let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                    if stack.is_empty() {
                        out.root = name;
                    } else {
                        out.leaves.push((name, String::new()));
                    }
                    had_child = true;
                }
                Event::Text(t) => text.push_str(&t.decode().ok()?),
                Event::CData(t) => text.push_str(&String::from_utf8_lossy(&t)),
                Event::GeneralRef(r) => {
                    let name = r.decode().ok()?;
                    let entity = format!("&{name};");
                    text.push_str(&quick_xml::escape::unescape(&entity).ok()?);
                }
                Event::End(_) => {
                    let name = stack.pop()?;
                    if !had_child && !stack.is_empty() {
                        out.leaves.push((name, std::mem::take(&mut text)));
                    }
                    text.clear();
                    had_child = true;
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if out.root.is_empty() || !stack.is_empty() {
            return None;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_leaves_and_entities() {
        let x = S3Xml::parse(r#"<?xml version="1.0" encoding="UTF-8"?>
<PostResponse><Location>http://h/b/a%20b</Location><Bucket>b</Bucket><Key>a&amp;b</Key><ETag>&quot;abc&quot;</ETag></PostResponse>"#).unwrap();
        assert_eq!(x.root, "PostResponse");
        assert_eq!(x.get("Key"), Some("a&b"));
        assert_eq!(x.get("ETag"), Some("\"abc\""));
        let nested = S3Xml::parse("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>").unwrap();
        assert_eq!(
            nested.leaves,
            vec![
                ("PartNumber".into(), "1".into()),
                ("PartNumber".into(), "2".into())
            ]
        );
        assert!(S3Xml::parse("<a><b>").is_none());
        assert!(S3Xml::parse("not xml").is_none());
        assert!(S3Xml::parse("").is_none());
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = S3Xml::parse(&s);
            let _ = S3Xml::parse(&format!("<Error><Code>{s}</Code></Error>"));
        }
    }
}

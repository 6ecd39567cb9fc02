//! S3's XML documents, typed: the ones signpost reads from a server and the one it writes.
//!
//! | document | root | when |
//! |---|---|---|
//! | [`ErrorResponse`] | `Error` | any refusal (and, with status 200, a failed CompleteMultipartUpload) |
//! | [`InitiateMultipartUploadResult`] | same | CreateMultipartUpload |
//! | [`CompleteMultipartUpload`] | same | the body signpost sends to complete an upload |
//! | [`CompleteMultipartUploadResult`] | same | CompleteMultipartUpload succeeded |
//! | [`PostResponse`] | `PostResponse` (Garage: `PostObject`) | a POST form with `success_action_status=201` |
//! | [`ListPartsResult`] | same | ListParts |
//! | [`ListBucketResult`] | same | ListObjectsV2 |
//!
//! See <https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html> and the API
//! reference page of each operation.

use quick_xml::events::Event;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod code;
mod lists;

pub use code::S3ErrorCode;
pub use lists::{ListBucketResult, ListPartsResult, ListedObject, ListedPart};

/// S3's XML namespace.
pub const S3_NAMESPACE: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A document S3 sends, known by its root element.
pub trait Document: DeserializeOwned {
    /// The root element names this document may have.
    const ROOTS: &'static [&'static str];
}

/// A body that is not the document expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Not well-formed XML with a root element.
    #[error("the body is not an XML document")]
    NotXml,
    /// Another document than the one expected (often `<Error>`).
    #[error("expected <{expected}>, got <{found}>")]
    UnexpectedRoot {
        /// The root expected.
        expected: &'static str,
        /// The root found.
        found: String,
    },
    /// The right root, but its content does not have the document's shape.
    #[error("<{root}> is malformed: {detail}")]
    Malformed {
        /// The root.
        root: &'static str,
        /// The parser's words.
        detail: String,
    },
}

/// The local name of the root element of `xml`, if it is XML.
pub fn root_element(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
            }
            Event::Eof => return None,
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => return None,
            _ => {}
        }
    }
}

/// Parses `xml` as the document `T`, checking its root element first.
///
/// ```
/// use signpost_wire::s3_xml::{parse, InitiateMultipartUploadResult};
/// let r: InitiateMultipartUploadResult = parse(
///     r#"<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
///        <Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2Fk</UploadId></InitiateMultipartUploadResult>"#,
/// )?;
/// assert_eq!(r.upload_id, "VXBsb2Fk");
/// # Ok::<(), signpost_wire::s3_xml::XmlError>(())
/// ```
pub fn parse<T: Document>(xml: &str) -> Result<T, XmlError> {
    let root = root_element(xml).ok_or(XmlError::NotXml)?;
    let Some(expected) = T::ROOTS.iter().find(|r| **r == root) else {
        return Err(XmlError::UnexpectedRoot {
            expected: T::ROOTS[0],
            found: root,
        });
    };
    quick_xml::de::from_str(xml).map_err(|e| XmlError::Malformed {
        root: expected,
        detail: e.to_string(),
    })
}

/// An error document: `<Error><Code>…</Code><Message>…</Message><RequestId>…</RequestId></Error>`,
/// with the diagnostic elements some refusals add.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// `SignatureDoesNotMatch`, `AccessDenied`, `EntityTooLarge`, `SlowDown`, …
    pub code: S3ErrorCode,
    /// S3's sentence.
    pub message: String,
    /// For the provider's support.
    pub request_id: Option<String>,
    /// The bucket's region (AuthorizationHeaderMalformed, PermanentRedirect).
    pub region: Option<String>,
    /// The endpoint to use instead (PermanentRedirect).
    pub endpoint: Option<String>,
    /// The canonical request the server computed (SignatureDoesNotMatch on AWS).
    pub canonical_request: Option<String>,
    /// The string to sign the server computed (SignatureDoesNotMatch on AWS).
    pub string_to_sign: Option<String>,
    /// The server's clock (RequestTimeTooSkewed).
    pub server_time: Option<String>,
    /// The request's time as the server read it (RequestTimeTooSkewed).
    pub request_time: Option<String>,
    /// When the URL expired (AccessDenied "Request has expired" on AWS).
    pub expires: Option<String>,
}

impl Document for ErrorResponse {
    const ROOTS: &'static [&'static str] = &["Error"];
}

impl ErrorResponse {
    /// Reads an `<Error>` document; `None` for anything else.
    pub fn parse(body: &str) -> Option<Self> {
        parse(body).ok()
    }

    /// A document with this code and message (for servers that speak S3).
    pub fn new(code: impl Into<S3ErrorCode>, message: impl Into<String>) -> Self {
        ErrorResponse {
            code: code.into(),
            message: message.into(),
            ..Self::default()
        }
    }

    /// The document as XML, as S3 writes it.
    pub fn to_xml(&self) -> String {
        let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        x.push_str(&esc(self.code.as_str()));
        x.push_str("</Code><Message>");
        x.push_str(&esc(&self.message));
        x.push_str("</Message>");
        if let Some(region) = &self.region {
            x.push_str("<Region>");
            x.push_str(&esc(region));
            x.push_str("</Region>");
        }
        if let Some(id) = &self.request_id {
            x.push_str("<RequestId>");
            x.push_str(&esc(id));
            x.push_str("</RequestId>");
        }
        x.push_str("</Error>");
        x
    }
}

impl std::fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code.as_str())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (RequestId {id})")?;
        }
        Ok(())
    }
}

/// CreateMultipartUpload's answer.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[non_exhaustive]
pub struct InitiateMultipartUploadResult {
    /// The bucket.
    #[serde(default)]
    pub bucket: String,
    /// The key.
    #[serde(default)]
    pub key: String,
    /// The id every later call of this upload names.
    pub upload_id: String,
}

impl Document for InitiateMultipartUploadResult {
    const ROOTS: &'static [&'static str] = &["InitiateMultipartUploadResult"];
}

/// One part named in [`CompleteMultipartUpload`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompletedPart {
    /// 1 to 10,000.
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    /// The ETag UploadPart answered, quotes included.
    #[serde(rename = "ETag")]
    pub etag: String,
}

/// The body of CompleteMultipartUpload: every part, in ascending order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename = "CompleteMultipartUpload")]
pub struct CompleteMultipartUpload {
    #[serde(rename = "@xmlns")]
    xmlns: &'static str,
    /// The parts.
    #[serde(rename = "Part")]
    pub parts: Vec<CompletedPart>,
}

impl CompleteMultipartUpload {
    /// A body naming `parts`.
    pub fn new(parts: Vec<CompletedPart>) -> Self {
        CompleteMultipartUpload {
            xmlns: S3_NAMESPACE,
            parts,
        }
    }

    /// The XML text.
    ///
    /// ```
    /// use signpost_wire::s3_xml::{CompleteMultipartUpload, CompletedPart};
    /// let body = CompleteMultipartUpload::new(vec![CompletedPart { part_number: 1, etag: "\"a1\"".into() }]);
    /// assert_eq!(
    ///     body.to_xml(),
    ///     "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
    ///      <Part><PartNumber>1</PartNumber><ETag>&quot;a1&quot;</ETag></Part></CompleteMultipartUpload>"
    /// );
    /// ```
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(96 + self.parts.len() * 80);
        let mut ser = quick_xml::se::Serializer::new(&mut out);
        // Quotes escaped too, as the AWS SDKs write ETags (`&quot;…&quot;`).
        ser.set_quote_level(quick_xml::se::QuoteLevel::Full);
        // Serialising plain strings and numbers into a String cannot fail.
        if self.serialize(ser).is_err() {
            out.clear();
        }
        out
    }
}

/// CompleteMultipartUpload's answer on success.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct CompleteMultipartUploadResult {
    /// The object's URL.
    pub location: Option<String>,
    /// Its bucket.
    pub bucket: Option<String>,
    /// Its key.
    pub key: Option<String>,
    /// Its ETag: `"md5-of-part-md5s-N"` on S3.
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
}

impl Document for CompleteMultipartUploadResult {
    const ROOTS: &'static [&'static str] = &["CompleteMultipartUploadResult"];
}

/// What a POST form with `success_action_status=201` answers: where the object is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
#[non_exhaustive]
pub struct PostResponse {
    /// The object's URL.
    pub location: Option<String>,
    /// Its bucket.
    pub bucket: Option<String>,
    /// Its key.
    pub key: Option<String>,
    /// Its ETag.
    #[serde(rename = "ETag")]
    pub etag: Option<String>,
}

impl Document for PostResponse {
    // Garage names the root `PostObject`.
    const ROOTS: &'static [&'static str] = &["PostResponse", "PostObject"];
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn error_documents_with_entities_and_extras() {
        let e = ErrorResponse::parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>a &amp; b</Message><RequestId>4442587FB7D0A2F9</RequestId>
<CanonicalRequest>PUT
/b/k
</CanonicalRequest><StringToSign>AWS4-HMAC-SHA256</StringToSign></Error>"#,
        )
        .unwrap();
        assert_eq!(e.code, "SignatureDoesNotMatch");
        assert_eq!(e.message, "a & b");
        assert_eq!(e.canonical_request.as_deref(), Some("PUT\n/b/k\n"));
        assert_eq!(
            e.to_string(),
            "SignatureDoesNotMatch: a & b (RequestId 4442587FB7D0A2F9)"
        );
        assert_eq!(ErrorResponse::parse(&e.to_xml()).unwrap().message, "a & b");
        let bare = ErrorResponse::parse("<Error><Code>AccessDenied</Code></Error>").unwrap();
        assert_eq!(bare.to_string(), "AccessDenied");
        assert!(ErrorResponse::parse("<PostResponse/>").is_none());
        assert!(ErrorResponse::parse("not xml").is_none());
        assert!(ErrorResponse::parse("").is_none());
    }

    #[test]
    fn post_responses_under_either_root() {
        for root in ["PostResponse", "PostObject"] {
            let p: PostResponse = parse(&format!(
                "<{root}><Location>http://h/b/a%20b</Location><Bucket>b</Bucket><Key>a&amp;b</Key><ETag>&quot;abc&quot;</ETag></{root}>"
            ))
            .unwrap();
            assert_eq!(p.key.as_deref(), Some("a&b"));
            assert_eq!(p.etag.as_deref(), Some("\"abc\""));
        }
        let e = parse::<PostResponse>("<Error><Code>X</Code></Error>").unwrap_err();
        assert!(matches!(e, XmlError::UnexpectedRoot { ref found, .. } if found == "Error"));
    }

    #[test]
    fn list_parts_pages() {
        let l: ListPartsResult = parse(
            "<ListPartsResult><UploadId>u</UploadId><IsTruncated>true</IsTruncated>\
             <NextPartNumberMarker>2</NextPartNumberMarker>\
             <Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag><Size>5</Size></Part>\
             <Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag><Size>6</Size></Part></ListPartsResult>",
        )
        .unwrap();
        assert!(l.is_truncated);
        assert_eq!(l.next_part_number_marker, Some(2));
        assert_eq!(l.parts.len(), 2);
        assert_eq!(l.parts[1].size, 6);
        let empty: ListPartsResult =
            parse("<ListPartsResult><UploadId>u</UploadId></ListPartsResult>").unwrap();
        assert!(empty.parts.is_empty());
    }

    #[test]
    fn list_objects_pages() {
        let l: ListBucketResult = parse(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>p/</Prefix>
<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
<Contents><Key>p/a&amp;b</Key><LastModified>2026-12-07T12:00:00.000Z</LastModified><ETag>"e"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/c</Key><LastModified>2026-12-07T12:00:01Z</LastModified><Size>0</Size></Contents>
<NextContinuationToken>t/1=</NextContinuationToken></ListBucketResult>"#,
        )
        .unwrap();
        assert!(l.is_truncated);
        assert_eq!(l.next_continuation_token.as_deref(), Some("t/1="));
        assert_eq!(l.contents.len(), 2);
        assert_eq!(l.contents[0].key, "p/a&b");
        assert_eq!(l.contents[0].last_modified, "2026-12-07T12:00:00.000Z");
        assert_eq!(l.contents[0].size, 3);
        let empty: ListBucketResult = parse(
            "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>",
        )
        .unwrap();
        assert!(empty.contents.is_empty() && !empty.is_truncated);
    }

    #[test]
    fn initiate_needs_an_upload_id() {
        assert!(matches!(
            parse::<InitiateMultipartUploadResult>(
                "<InitiateMultipartUploadResult><Bucket>b</Bucket></InitiateMultipartUploadResult>"
            ),
            Err(XmlError::Malformed { .. })
        ));
        assert!(matches!(
            parse::<InitiateMultipartUploadResult>("<a><b>"),
            Err(XmlError::UnexpectedRoot { .. })
        ));
        assert_eq!(
            parse::<InitiateMultipartUploadResult>("not xml"),
            Err(XmlError::NotXml)
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,200}") {
            let _ = ErrorResponse::parse(&s);
            let _ = ErrorResponse::parse(&format!("<Error><Code>{s}</Code></Error>"));
            let _ = parse::<ListPartsResult>(&format!("<ListPartsResult>{s}</ListPartsResult>"));
        }

        #[test]
        fn complete_body_round_trips_etags(etags in proptest::collection::vec("[ -~]{0,20}", 1..5)) {
            let parts: Vec<CompletedPart> = etags.iter().enumerate()
                .map(|(i, e)| CompletedPart { part_number: i as u32 + 1, etag: e.clone() }).collect();
            let xml = CompleteMultipartUpload::new(parts).to_xml();
            let mut reader = quick_xml::Reader::from_str(&xml);
            let mut seen = Vec::new();
            let mut in_etag = false;
            loop {
                match reader.read_event().unwrap() {
                    Event::Start(e) => { in_etag = e.local_name().as_ref() == b"ETag"; if in_etag { seen.push(String::new()); } }
                    Event::Text(t) if in_etag => seen.last_mut().unwrap().push_str(&t.decode().unwrap()),
                    Event::GeneralRef(r) if in_etag => {
                        let ent = format!("&{};", r.decode().unwrap());
                        seen.last_mut().unwrap().push_str(&quick_xml::escape::unescape(&ent).unwrap());
                    }
                    Event::Empty(e) if e.local_name().as_ref() == b"ETag" => seen.push(String::new()),
                    Event::End(_) => in_etag = false,
                    Event::Eof => break,
                    _ => {}
                }
            }
            prop_assert_eq!(seen, etags);
        }
    }
}

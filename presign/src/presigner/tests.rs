//! The presigner against AWS's examples and its own rules.

use super::*;
use crate::Validity;
use std::time::Duration;
use time::macros::datetime;

fn presigner() -> Presigner {
    Presigner::new(
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        Endpoint::aws("us-east-1").unwrap(),
    )
}

#[test]
fn headers_are_checked() {
    let p = presigner();
    let e = p
        .presign(&PresignRequest::put_object("bucket", "k").header("X-Custom", "1"))
        .unwrap_err();
    assert!(matches!(e, PresignError::UnsignableHeader { .. }), "{e}");
    let e = p
        .presign(&PresignRequest::put_object("bucket", "k").header("x-amz-date", "1"))
        .unwrap_err();
    assert!(matches!(e, PresignError::UnsignableHeader { .. }), "{e}");
    let e = p
        .presign(&PresignRequest::put_object("bucket", "k").meta("a", "é"))
        .unwrap_err();
    assert!(matches!(e, PresignError::InvalidValue { .. }), "{e}");
    let e = p
        .presign(
            &PresignRequest::put_object("bucket", "k")
                .content_type("a")
                .header("content-type", "b"),
        )
        .unwrap_err();
    assert!(e.to_string().contains("twice"));
}

#[test]
fn signed_put_carries_headers_and_expiry() {
    let v = Validity::expires_in(Duration::from_secs(600))
        .unwrap()
        .signed_at(datetime!(2024-01-02 3:04:05 UTC))
        .unwrap();
    let r = presigner()
        .presign(
            &PresignRequest::put_object("bucket", "a b.mp4")
                .content_type("video/mp4")
                .meta("job", "42")
                .validity(v),
        )
        .unwrap();
    assert_eq!(r.method(), http::Method::PUT);
    let url = r.url().as_str();
    assert!(url.starts_with(
        "https://bucket.s3.us-east-1.amazonaws.com/a%20b.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
    ));
    assert!(url.contains("X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-job&"));
    assert_eq!(r.expires_at(), datetime!(2024-01-02 3:14:05 UTC));
    assert_eq!(r.headers().get("content-type"), Some("video/mp4"));
    let d = r.to_descriptor().unwrap();
    assert_eq!(d.url, url);
    assert!(d.validate().is_ok());
    assert!(!format!("{r:?}").contains(&url[url.len() - 64..]));
}

#[test]
fn only_put_and_post_become_descriptors() {
    let p = presigner();
    for req in [
        PresignRequest::get_object("bucket", "k"),
        PresignRequest::new(crate::S3Operation::DeleteObject, "bucket", "k"),
        PresignRequest::new(crate::S3Operation::HeadObject, "bucket", "k"),
    ] {
        let e = p.presign(&req).unwrap().to_descriptor().unwrap_err();
        assert!(matches!(e, PresignError::NotAnUpload { .. }), "{e}");
        assert!(e.to_string().contains("not an upload target"), "{e}");
    }
    let create = p
        .presign(&PresignRequest::create_multipart_upload("bucket", "k"))
        .unwrap();
    assert_eq!(
        create.to_descriptor().unwrap().method,
        signpost_wire::UploadMethod::Post
    );
}

#[test]
fn session_token_is_signed_and_redacted() {
    let p = Presigner::new(
        Credentials::new("AKID", "SECRET").with_session_token("TOKEN/+="),
        Endpoint::custom("http://127.0.0.1:9000", "us-east-1").unwrap(),
    );
    let r = p.presign(&PresignRequest::get_object("b", "k")).unwrap();
    assert!(
        r.url()
            .as_str()
            .ends_with("&X-Amz-Security-Token=TOKEN%2F%2B%3D")
    );
    assert!(!format!("{r:?}").contains("TOKEN"));
    assert!(!format!("{p:?}").contains("SECRET"));
}

#[test]
fn bucket_operations_have_no_key() {
    let p = presigner();
    let e = p
        .presign(&PresignRequest::new(
            crate::S3Operation::HeadBucket,
            "bucket",
            "k",
        ))
        .unwrap_err();
    assert!(matches!(e, PresignError::KeyOnBucketOperation), "{e}");
}

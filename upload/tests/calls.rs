//! Control-plane calls (CreateMultipartUpload, reads, deletes) through the uploader's funnel:
//! retried as parts are, S3's refusals parsed, URLs never in messages.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use signpost_upload::signpost_wire::OrderedPairs;
use signpost_upload::signpost_wire::s3_xml::S3ErrorCode;
use signpost_upload::{Call, RetryPolicy, UploadError, Uploader};
use support::{Act, FaultServer};

fn uploader() -> Uploader {
    Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        })
        .build()
        .unwrap()
}

const INITIATED: &str = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkSWQ</UploadId></InitiateMultipartUploadResult>";

#[tokio::test]
async fn create_multipart_upload_is_retried_and_returns_the_upload_id() {
    let server = FaultServer::start(vec![
        Act::S3Error(503, "SlowDown", "Please reduce your request rate."),
        Act::DropAfter(0),
        Act::Answer(200, vec![], INITIATED.into()),
    ])
    .await;
    let mut signed = OrderedPairs::default();
    signed.push("Content-Type", "video/mp4".to_owned());
    let id = uploader()
        .create_multipart_upload(
            format!("{}/b/k?uploads&X-Amz-Signature=0123abcd", server.base),
            &signed,
        )
        .await
        .unwrap();
    assert_eq!(id, "VXBsb2FkSWQ");
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter()
            .all(|s| s.method == "POST" && s.target.contains("uploads"))
    );
    assert!(
        seen.iter()
            .all(|s| s.header("content-type") == Some("video/mp4"))
    );
}

#[tokio::test]
async fn a_refused_call_names_s3s_code_and_never_the_signature() {
    let server = FaultServer::start(vec![Act::S3Error(403, "AccessDenied", "Access Denied")]).await;
    let call = Call::new(
        reqwest::Method::POST,
        format!("{}/b/k?uploads&X-Amz-Signature=0123abcd", server.base),
    )
    .named("CreateMultipartUpload")
    .expect(&[200]);
    let e = uploader().call(&call).await.unwrap_err();
    assert_eq!(e.s3_code(), Some(&S3ErrorCode::AccessDenied));
    assert_eq!(server.seen().len(), 1, "a 403 is not retried");
    // Nothing listens on port 9: a transport failure, retried, then named by host.
    let down = Call::new(
        reqwest::Method::POST,
        "http://127.0.0.1:9/b/k?uploads&X-Amz-Signature=0123abcd",
    );
    let e = uploader().call(&down).await.unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, UploadError::Transport { attempts: 3, .. }),
        "{text}"
    );
    assert!(text.contains("127.0.0.1:9"), "{text}");
    assert!(!text.contains("0123abcd"), "{text}");
}

#[tokio::test]
async fn without_expect_every_answer_is_returned_after_s3s_retries() {
    let server = FaultServer::start(vec![
        Act::S3Error(503, "SlowDown", "Please reduce your request rate."),
        Act::S3Error(404, "NoSuchBucket", "The specified bucket does not exist"),
    ])
    .await;
    let call = Call::new(reqwest::Method::HEAD, format!("{}/b", server.base)).named("HeadBucket");
    let r = uploader().call(&call).await.unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(r.attempts, 2);
    // A server that keeps asking to slow down: its last answer once attempts run out.
    let busy = FaultServer::start(vec![Act::S3Error(
        503,
        "SlowDown",
        "Please reduce your request rate.",
    )])
    .await;
    let r = uploader()
        .call(&Call::new(
            reqwest::Method::GET,
            format!("{}/b/k", busy.base),
        ))
        .await
        .unwrap();
    assert_eq!((r.status, r.attempts), (503, 3));
    assert_eq!(r.s3_code(), Some(S3ErrorCode::SlowDown));
}

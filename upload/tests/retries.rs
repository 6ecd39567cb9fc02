//! Retries and refusals against a real HTTP server that misbehaves on purpose: what is retried
//! and how often, a refusal heard whenever the server sends it, never a retry past the expiry.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use signpost_upload::signpost_wire::s3_xml::S3ErrorCode;
use signpost_upload::{
    Progress, RetryPolicy, RunnerJobCustomUpload, TargetKind, UploadError, UploadOptions, Uploader,
};
use support::{Act, FaultServer, file, post_job, sigv4_query, uploader};
use time::OffsetDateTime;

const SIG: (u16, &str, &str) = (
    403,
    "SignatureDoesNotMatch",
    "The request signature we calculated does not match the signature you provided.",
);

#[tokio::test]
async fn a_refusal_sent_before_the_body_is_read_is_heard_on_the_retry_that_asks_first() {
    // The first attempt's connection is cut before any answer (as a server that refuses and
    // closes with the body unread can make it look). The retry sends `Expect: 100-continue`
    // and holds the body, so it reads the refusal the server sends before reading a byte.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.bin", 8_000_000);
    let server = FaultServer::start(vec![
        Act::DropAfter(0),
        Act::RefuseUnread(SIG.0, SIG.1, SIG.2),
    ])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(
        e.s3_code(),
        Some(&S3ErrorCode::SignatureDoesNotMatch),
        "{e}"
    );
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        2,
        "one cut attempt, one refusal heard and not retried"
    );
    assert_eq!(seen[0].header("expect"), None);
    assert_eq!(seen[1].header("expect"), Some("100-continue"));
    assert!(seen[1].body.is_empty(), "the body was held back");
}

#[tokio::test]
async fn a_refusal_sent_mid_body_by_a_lingering_server_is_heard_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.bin", 8_000_000);
    let server = FaultServer::start(vec![Act::RefuseDraining(SIG.0, SIG.1, SIG.2)]).await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(
        e.s3_code(),
        Some(&S3ErrorCode::SignatureDoesNotMatch),
        "{e}"
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "heard on the first attempt, not retried");
    assert_eq!(seen[0].header("expect"), None);
}

#[tokio::test]
async fn a_post_refused_on_its_fields_mid_file_is_heard_not_lost() {
    // The server reads the fields, refuses, and closes while the file is still coming: the
    // retry holds the file back after the fields, so the refusal is read.
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "big.bin", 8_000_000);
    let server = FaultServer::start(vec![Act::RefuseAfter(
        100,
        400,
        "InvalidRequest",
        "Key does not match policy",
    )])
    .await;
    let job = post_job(
        &server.base,
        &[("key", "elsewhere/x"), ("x-amz-signature", "s")],
    );
    let up = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(5),
        })
        .build()
        .unwrap();
    for _ in 0..5 {
        let e = up.upload(&job, &path).await.unwrap_err();
        assert_eq!(e.s3_code(), Some(&S3ErrorCode::InvalidRequest), "{e}");
        assert_eq!(e.status(), Some(400));
    }
}

#[tokio::test]
async fn slowdown_twice_then_success_resends_the_whole_file_each_time() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "a.bin", 600_000);
    let server = FaultServer::start(vec![
        Act::S3Error(503, "SlowDown", "Please reduce your request rate."),
        Act::S3Error(503, "SlowDown", "Please reduce your request rate."),
        Act::ok(),
    ])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let last = Arc::new(AtomicU64::new(0));
    let last2 = Arc::clone(&last);
    let opts = UploadOptions {
        progress: Some(Arc::new(move |p: Progress| {
            assert!(p.bytes_sent <= p.total_bytes);
            last2.store(p.bytes_sent, Ordering::Relaxed);
        })),
        ..Default::default()
    };
    let out = uploader().upload_with(&job, &path, &opts).await.unwrap();
    assert_eq!(out.attempts, 3);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.complete && r.body == bytes));
    assert_eq!(
        last.load(Ordering::Relaxed),
        bytes.len() as u64,
        "progress ends at the total"
    );
}

#[tokio::test]
async fn retries_on_429_5xx_dropped_connections_and_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = file(&dir, "a.bin", 2_000_000);
    let server = FaultServer::start(vec![
        Act::Answer(429, vec![("Retry-After", "0".into())], String::new()),
        Act::DropAfter(100_000),
        Act::Stall(Duration::from_secs(5)),
        Act::ok(),
    ])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let out = uploader().upload(&job, &path).await.unwrap();
    assert_eq!(out.attempts, 4);
    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    assert!(!seen[1].complete && !seen[2].complete);
    assert!(seen[3].complete && seen[3].body == bytes);
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_last_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::S3Error(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
    )])
    .await;
    let job = RunnerJobCustomUpload::put(format!("{}/b/k", server.base));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert_eq!(server.seen().len(), 4);
    assert!(e.to_string().contains("after 4 attempt(s)"), "{e}");
    assert_eq!(e.s3_code(), Some(&S3ErrorCode::InternalError));
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_naming_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    // Bind then drop: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let job = RunnerJobCustomUpload::put(format!("http://127.0.0.1:{port}/b/k"));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(e, UploadError::Transport { attempts: 4, .. }),
        "{e}"
    );
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

#[tokio::test]
async fn expired_url_is_refused_before_any_byte_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::ok()]).await;
    let past = OffsetDateTime::now_utc() - time::Duration::hours(2);
    let job =
        RunnerJobCustomUpload::put(format!("{}/b/k?{}", server.base, sigv4_query(past, 3600)));
    let e = uploader().upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Preflight(signpost_upload::PreflightError::Expired { .. })
        ),
        "{e}"
    );
    assert!(e.to_string().contains("new upload target"), "{e}");
    assert!(server.seen().is_empty());
    // A cut query string (the PeerTube bug) is caught too.
    let cut = format!("{}/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256", server.base);
    let e = uploader()
        .upload(&RunnerJobCustomUpload::put(cut), &path)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            UploadError::Preflight(signpost_upload::PreflightError::MalformedUrl {
                what: TargetKind::PresignedUrl,
                ..
            })
        ),
        "{e}"
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn no_retry_that_would_start_after_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = file(&dir, "a.bin", 10);
    let server = FaultServer::start(vec![Act::Answer(
        503,
        vec![("Retry-After", "10".into())],
        String::new(),
    )])
    .await;
    let job = RunnerJobCustomUpload::put(format!(
        "{}/b/k?{}",
        server.base,
        sigv4_query(OffsetDateTime::now_utc(), 5)
    ));
    let up = Uploader::builder()
        .retry(RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(30),
        })
        .build()
        .unwrap();
    let e = up.upload(&job, &path).await.unwrap_err();
    assert!(
        matches!(e, UploadError::ExpiredWhileRetrying { attempts: 1, .. }),
        "{e}"
    );
    assert_eq!(server.seen().len(), 1);
}
